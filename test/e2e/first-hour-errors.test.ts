/**
 * The mistakes a newcomer makes in the first hour, each answered with what to do (issue 26's error
 * table, one test per row), over the local stack with real sockets and real HTTP. The console's
 * sign-in is in test/browser/console.test.ts, `npm run token` with the master key in
 * test/e2e/cli.test.ts, a misspelled CDK context key in test/infra/context-settings.test.ts.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { request } from 'node:http';
import { WebSocket } from 'ws';
import { postJson } from '../helpers/clients';
import { useLocalStack } from '../helpers/e2e';

const MASTER = 'first-hour-master';
const e2e = useLocalStack({ accessKey: MASTER });

/** What a WebSocket client is refused with: the status wscat shows, and the body it does not. */
function refusedUpgrade(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    socket.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    socket.once('open', () => reject(new Error(`${url} accepted the connection`)));
    socket.once('error', () => undefined);
  });
}

/** A plain HTTP GET, answered by whatever listens there. */
function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request(url, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    })
      .on('error', reject)
      .end();
  });
}

const call = async (method: string, path: string, headers: Record<string, string>, body?: string) => {
  const response = await fetch(`${e2e.stack().httpUrl}${path}`, { method, headers, body });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
};

describe('a wrong key, no Bearer, or an x-api-key header', () => {
  it.each([
    ['a wrong key', { Authorization: 'Bearer not-a-key' }, /^Unknown key: the key in Authorization: Bearer <key> is neither/],
    ['the key without Bearer', { Authorization: MASTER }, /^Malformed Authorization header: it must be Authorization: Bearer <key>/],
    ['an x-api-key header', { 'x-api-key': MASTER }, /^The x-api-key header is not read here: send the key as Authorization: Bearer <key>/],
    ['no key at all', {}, /^No key: send the master key or a project key \(rbk_…\) as Authorization: Bearer <key>/],
  ])('%s: 401, error "Unauthorized" as before, a code, and a message naming the expected form', async (_, headers, message) => {
    const answer = await call('POST', '/broadcast', headers, '{"channel":"news","event":"e"}');
    expect(answer).toEqual({
      status: 401,
      json: {
        success: false,
        error: 'Unauthorized',
        code: 'unauthorized',
        message: expect.stringMatching(message),
        errors: [{ code: 'unauthorized', message: expect.stringMatching(message) }],
      },
    });
    // Never a hint of which keys exist.
    expect(JSON.stringify(answer.json)).not.toContain(MASTER.slice(0, 6));
  });
});

describe('a project key changing settings', () => {
  it('is told this needs the master key', async () => {
    const { apiKey } = await e2e.createKey('hour-settings');
    const answer = await call('PUT', '/projects/hour-settings/settings', { Authorization: `Bearer ${apiKey}` }, '{"clientPublish":"all"}');
    expect(answer).toMatchObject({
      status: 401,
      json: { error: 'Unauthorized', code: 'unauthorized', message: expect.stringMatching(/^This needs the master key/) },
    });
  });
});

describe('the wrong port or path (local stack)', () => {
  it('HTTP to the WebSocket port: 403 as on AWS, with a hint naming both URLs', async () => {
    const { webSocketUrl, httpUrl } = e2e.stack();
    const answer = await get(`${webSocketUrl.replace(/^ws:/, 'http:')}/broadcast`);
    expect(answer.status).toBe(403);
    expect(JSON.parse(answer.body)).toEqual({
      message: 'Forbidden',
      hint: `This is the WebSocket API's port: connect a WebSocket client to ${webSocketUrl}; the HTTP API is ${httpUrl}`,
    });
  });

  it('a WebSocket client to the HTTP port: 404, with a hint naming the WebSocket URL', async () => {
    const { webSocketUrl, httpUrl } = e2e.stack();
    const answer = await refusedUpgrade(`${httpUrl.replace(/^http:/, 'ws:')}/production`);
    expect(answer.status).toBe(404);
    expect(JSON.parse(answer.body)).toEqual({
      message: 'Not Found',
      hint: `This is the HTTP API's port: WebSocket clients connect to ${webSocketUrl}`,
    });
  });

  it('a WebSocket path without the stage: 403, with a hint naming the stage', async () => {
    const { webSocketUrl } = e2e.stack();
    const answer = await refusedUpgrade(webSocketUrl.replace(/\/production$/, '/'));
    expect(answer.status).toBe(403);
    expect(JSON.parse(answer.body)).toEqual({
      message: 'Forbidden',
      hint: `WebSocket clients connect to the stage's path: ${webSocketUrl}`,
    });
  });
});

describe('wscat to a keyed project without a token', () => {
  it('sees only 401, and `curl -i` of the handshake shows why', async () => {
    await e2e.createKey('hour-keyed');
    const url = `${e2e.stack().webSocketUrl}?projectId=hour-keyed`;
    expect(await refusedUpgrade(url)).toMatchObject({ status: 401 });
    // The command Troubleshooting gives, run as a user would.
    // Asynchronously: the stack runs in this process, so a synchronous child would wait on it forever.
    const { stdout: shown } = await promisify(execFile)('curl', [
      '-si',
      url.replace(/^ws:/, 'http:'),
      '-H',
      'Connection: Upgrade',
      '-H',
      'Upgrade: websocket',
      '-H',
      'Sec-WebSocket-Version: 13',
      '-H',
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
    ]);
    expect(shown).toMatch(/^HTTP\/1\.1 401 Unauthorized/);
    expect(shown).toContain('"code":"token_required","message":"This project needs a client token');
  });
});

describe('an anonymous subscribe to a private channel', () => {
  it('is told private channels need a client token, and how to get one', async () => {
    const { client } = await e2e.connect();
    expect(await client.request({ action: 'subscribe', channel: 'private-x' }, 'subscription_succeeded')).toEqual({
      kind: 'reply',
      type: 'error',
      code: 'subscription_forbidden',
      message:
        'private-x is a private channel: only a connection with a client token whose channels claim grants it may join. Your backend signs tokens with a project key (locally: npm run token); connect with ?token=<token>',
    });
  });

  it('with a token that lacks the grant, is told to add it to the claim', async () => {
    const token = await e2e.tokenFor('hour-grants', { sub: 'ann', channels: ['private-mine'] });
    const { client } = await e2e.connect({ token });
    expect(await client.request({ action: 'subscribe', channel: 'private-x' }, 'subscription_succeeded')).toMatchObject({
      code: 'subscription_forbidden',
      message: 'Your token does not grant private-x: add it (or a pattern) to its channels claim',
    });
  });
});

describe('bad JSON', () => {
  it('in a WebSocket frame: "Frame is not valid JSON", with the position', async () => {
    const { client } = await e2e.connect();
    client.send('{"action":"subscribe","channel":news}');
    expect(await client.next()).toEqual({
      kind: 'reply',
      type: 'error',
      code: 'invalid_json',
      message: 'Frame is not valid JSON: unexpected "n" at position 32, where a value should be',
    });
  });

  it('in an HTTP body: "Body is not valid JSON", with the position', async () => {
    const answer = await call('POST', '/broadcast', { Authorization: `Bearer ${MASTER}` }, '{"channel":"news",');
    expect(answer).toMatchObject({
      status: 400,
      json: {
        code: 'invalid_json',
        error: 'Body is not valid JSON: it ends at position 18, where a property name in double quotes should follow',
      },
    });
  });
});

describe('PUT /projects/{p}/settings with an unknown field', () => {
  it('names the field and what is allowed, and changes nothing', async () => {
    const before = await call('GET', '/projects/hour-typo/settings', { Authorization: `Bearer ${MASTER}` });
    const answer = await call('PUT', '/projects/hour-typo/settings', { Authorization: `Bearer ${MASTER}` }, '{"anonymusConnect":false}');
    expect(answer).toMatchObject({
      status: 400,
      json: {
        code: 'invalid_message',
        error:
          'Unknown field "anonymusConnect"; allowed: anonymousConnect, clientPublish, rateLimit, maxTokenTtlSeconds, maxConnectionsPerUser, clientEvents, subscriptionCount, webhooks, userRateLimit',
      },
    });
    expect(await call('GET', '/projects/hour-typo/settings', { Authorization: `Bearer ${MASTER}` })).toEqual(before);
  });
});

describe('POST /broadcast', () => {
  it('to a channel nobody is on: 200 with sent 0 (right: there is no one)', async () => {
    expect(await e2e.broadcast({ channel: 'hour-empty', event: 'e', data: 1 })).toMatchObject({
      status: 200,
      json: { success: true, sent: 0, failed: 0, stale: 0 },
    });
  });

  it('with "message" instead of "data": refused by name, nothing delivered', async () => {
    const { client } = await e2e.subscriber('hour-typo');
    const answer = await e2e.broadcast({ channel: 'hour-typo', event: 'e', message: { text: 'hi' } });
    expect(answer).toMatchObject({
      status: 400,
      json: {
        code: 'invalid_message',
        error: 'Unknown field "message"; allowed: projectId, channel, connectionId, event, data, retain, idempotencyKey',
      },
    });
    await e2e.barrier(client);
    expect(client.messages).toEqual([]);
  });

  it('in a batch: an unknown top-level field refuses the batch; an unknown field in one message fails that one alone', async () => {
    const headers = { Authorization: `Bearer ${MASTER}` };
    const url = `${e2e.stack().httpUrl}/broadcast`;
    expect(await postJson(url, { messages: [{ channel: 'a', event: 'e' }], mesages: [] }, headers)).toMatchObject({
      status: 400,
      json: { code: 'invalid_message', error: 'Unknown field "mesages"; allowed: projectId, messages' },
    });
    const batch = await postJson(
      url,
      {
        messages: [
          { channel: 'a', event: 'e', message: 1 },
          { channel: 'a', event: 'e' },
        ],
      },
      headers,
    );
    expect(batch.json.results).toEqual([
      { code: 'invalid_message', error: expect.stringMatching(/^Unknown field "message"/) },
      expect.objectContaining({ sent: 0 }),
    ]);
  });
});
