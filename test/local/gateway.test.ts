/**
 * The local gateway's API Gateway behaviours, each checked with real sockets, real HTTP and the
 * real AWS SDK Management API client, in front of a scripted handler.
 */
import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GetConnectionCommand,
  GoneException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { connect as connectTcp, createServer } from 'node:net';
import { LocalGateway, LocalHandler } from '../../local/gateway';
import { LOCAL_AWS } from '../../local/store';
import { postJson, TestClient } from '../helpers/clients';

type Event = Record<string, any>;

let events: Event[];
let respond: (event: Event) => Promise<unknown>;
let gateway: LocalGateway;
let management: ApiGatewayManagementApiClient;

async function start(options: Partial<Omit<ConstructorParameters<typeof LocalGateway>[0], 'handler'>> = {}) {
  const handler: LocalHandler = async (event) => {
    events.push(event as Event);
    return respond(event as Event);
  };
  gateway = new LocalGateway({ handler, ...options });
  await gateway.listen();
  management = new ApiGatewayManagementApiClient({ ...LOCAL_AWS, endpoint: gateway.managementEndpoint });
}

beforeEach(async () => {
  events = [];
  respond = async () => ({ statusCode: 200 });
  await start();
});
afterEach(async () => {
  management.destroy();
  await gateway.stop();
});

const eventsFor = (routeKey: string) => events.filter((e) => (e.routeKey ?? e.requestContext?.routeKey) === routeKey);
const until = async (check: () => boolean, timeoutMs = 3000) => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};

describe('$connect', () => {
  it('sends a CONNECT event shaped like API Gateway’s, with headers and query string', async () => {
    const client = await TestClient.open(`${gateway.webSocketUrl}?projectId=acme&type=admin`, { headers: { 'X-Api-Key': 'k1' } });
    const [event] = eventsFor('$connect');
    expect(event.requestContext).toEqual(
      expect.objectContaining({
        routeKey: '$connect',
        eventType: 'CONNECT',
        connectionId: expect.stringMatching(/^[A-Za-z0-9+/]{15}=$/),
        connectedAt: expect.any(Number),
        requestTimeEpoch: expect.any(Number),
        requestTime: expect.stringMatching(/^\d\d\/\w{3}\/\d{4}:\d\d:\d\d:\d\d \+0000$/),
        domainName: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
        stage: 'production',
        apiId: expect.any(String),
        identity: expect.objectContaining({ sourceIp: '127.0.0.1' }),
      }),
    );
    expect(event.queryStringParameters).toEqual({ projectId: 'acme', type: 'admin' });
    expect(event.multiValueQueryStringParameters).toEqual({ projectId: ['acme'], type: ['admin'] });
    expect(event.headers).toMatchObject({ 'X-Api-Key': 'k1', 'Sec-WebSocket-Version': '13' });
    await client.close();
  });

  it('refuses the upgrade with the status $connect returned', async () => {
    respond = async (event) => (event.requestContext.eventType === 'CONNECT' ? { statusCode: 401 } : { statusCode: 200 });
    await expect(TestClient.open(gateway.webSocketUrl)).rejects.toMatchObject({ statusCode: 401 });
  });

  it('refuses with 502 when $connect throws, as API Gateway does', async () => {
    respond = async () => {
      throw new Error('boom');
    };
    await expect(TestClient.open(gateway.webSocketUrl)).rejects.toMatchObject({ statusCode: 502 });
  });

  it('adds the headers API Gateway adds to $connect', async () => {
    const client = await TestClient.open(gateway.webSocketUrl);
    const { headers } = eventsFor('$connect')[0] as unknown as { headers: Record<string, string> };
    expect(headers).toMatchObject({
      'X-Forwarded-For': '127.0.0.1',
      'X-Forwarded-Proto': 'http',
      'X-Forwarded-Port': expect.stringMatching(/^\d+$/),
      'X-Amzn-Trace-Id': expect.stringMatching(/^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/),
    });
    await client.close();
  });

  it('answers PostToConnection with 410 GoneException while $connect runs, as AWS does', async () => {
    let duringConnect: unknown;
    respond = async (event) => {
      if (event.requestContext.eventType === 'CONNECT') {
        duringConnect = await management
          .send(new PostToConnectionCommand({ ConnectionId: event.requestContext.connectionId, Data: 'hi' }))
          .catch((error) => error);
      }
      return { statusCode: 200 };
    };
    const client = await TestClient.open(gateway.webSocketUrl);
    expect(duringConnect).toBeInstanceOf(GoneException);
    expect((duringConnect as GoneException).$metadata.httpStatusCode).toBe(410);
    await client.close();
  });

  it('accepts the stage path and refuses any other, the root included, with 403 before $connect runs', async () => {
    const staged = await TestClient.open(`${gateway.webSocketUrl}/`);
    await staged.close();
    await expect(TestClient.open(gateway.webSocketUrl.replace('/production', '/'))).rejects.toMatchObject({ statusCode: 403 });
    await expect(TestClient.open(gateway.webSocketUrl.replace('/production', '/other'))).rejects.toMatchObject({ statusCode: 403 });
    expect(eventsFor('$connect')).toHaveLength(1);
  });
});

/** The gateway's WebSocket host and port. */
const wsAddress = () => new URL(gateway.webSocketUrl);

/** Sends a raw upgrade request and resolves with the status line the gateway answered, or 'closed'. */
function rawHandshake(lines: string[]): Promise<string> {
  return new Promise((resolve) => {
    const socket = connectTcp(Number(wsAddress().port), wsAddress().hostname, () => socket.write([...lines, '', ''].join('\r\n')));
    let received = '';
    socket.on('data', (chunk) => (received += chunk.toString()));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(received.split('\r\n')[0] || 'closed'));
  });
}

const handshake = (overrides: Record<string, string | undefined> = {}, requestLine = 'GET /production HTTP/1.1') => {
  const headers: Record<string, string | undefined> = {
    Host: 'localhost',
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
    'Sec-WebSocket-Version': '13',
    ...overrides,
  };
  return [requestLine, ...Object.entries(headers).flatMap(([name, value]) => (value === undefined ? [] : [`${name}: ${value}`]))];
};

describe('handshakes', () => {
  it.each([
    ['no key', handshake({ 'Sec-WebSocket-Key': undefined }), 'HTTP/1.1 400 Bad Request'],
    ['a malformed key', handshake({ 'Sec-WebSocket-Key': 'short' }), 'HTTP/1.1 400 Bad Request'],
    ['a wrong version', handshake({ 'Sec-WebSocket-Version': '12' }), 'HTTP/1.1 400 Bad Request'],
    ['no Upgrade header', handshake({ Upgrade: 'h2c' }), 'HTTP/1.1 400 Bad Request'],
    ['a POST', handshake({}, 'POST /production HTTP/1.1'), 'HTTP/1.1 405 Method Not Allowed'],
  ])('refuses %s without running $connect, and closes the socket', async (_, lines, status) => {
    expect(await rawHandshake(lines)).toBe(status);
    expect(eventsFor('$connect')).toEqual([]);
  });

  it('survives a client that resets right after a refused handshake', async () => {
    respond = async () => ({ statusCode: 401 });
    await new Promise<void>((resolve) => {
      const socket = connectTcp(Number(wsAddress().port), wsAddress().hostname, () => {
        socket.write([...handshake(), '', ''].join('\r\n'));
        socket.resetAndDestroy();
        resolve();
      });
    });
    await until(() => eventsFor('$connect').length === 1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    respond = async () => ({ statusCode: 200 });
    const client = await TestClient.open(gateway.webSocketUrl);
    await client.close();
  });

  it('survives a reset while $connect runs, and tells the handler the connection went', async () => {
    let release!: () => void;
    const connecting = new Promise<void>((resolve) => (release = resolve));
    respond = async (event) => {
      if (event.requestContext.eventType === 'CONNECT') await connecting;
      return { statusCode: 200 };
    };
    const socket = connectTcp(Number(wsAddress().port), wsAddress().hostname, () => socket.write([...handshake(), '', ''].join('\r\n')));
    socket.on('error', () => undefined);
    await until(() => eventsFor('$connect').length === 1);
    socket.resetAndDestroy();
    await new Promise((resolve) => setTimeout(resolve, 50));
    release();
    // $connect stored a connection that never opened: $disconnect follows it, so nothing is left.
    await until(() => eventsFor('$disconnect').length === 1);
    expect(eventsFor('$disconnect')[0].requestContext.connectionId).toBe(eventsFor('$connect')[0].requestContext.connectionId);
    const client = await TestClient.open(gateway.webSocketUrl);
    await client.close();
  });
});

describe('messages', () => {
  it('selects the route from the body’s action, else $default', async () => {
    respond = async () => ({ statusCode: 200, body: 'ok' });
    const client = await TestClient.open(gateway.webSocketUrl);
    for (const frame of ['{"action":"subscribe","channel":"a"}', '{"action":"dance"}', 'not json', 'ping', '{"action":"send"}']) {
      client.send(frame);
      await client.next();
    }
    const routes = events.filter((e) => e.requestContext.eventType === 'MESSAGE').map((e) => [e.body, e.requestContext.routeKey]);
    expect(routes).toEqual([
      ['{"action":"subscribe","channel":"a"}', 'subscribe'],
      ['{"action":"dance"}', '$default'],
      ['not json', '$default'],
      ['ping', '$default'],
      ['{"action":"send"}', 'send'],
    ]);
    const message = events.find((e) => e.requestContext.routeKey === 'subscribe')!;
    expect(message.requestContext).toMatchObject({ eventType: 'MESSAGE', messageId: expect.any(String), messageDirection: 'IN' });
    expect(message.isBase64Encoded).toBe(false);
    await client.close();
  });

  it('sends a returned body back to the caller as the route response', async () => {
    respond = async (event) => ({ statusCode: 200, body: event.requestContext.eventType === 'MESSAGE' ? `echo:${event.body}` : undefined });
    const client = await TestClient.open(gateway.webSocketUrl);
    client.send('hello');
    expect(await client.next()).toBe('echo:hello');
    await client.close();
  });

  it('answers a failing integration with API Gateway’s internal error message', async () => {
    respond = async (event) => {
      if (event.requestContext.eventType === 'MESSAGE') throw new Error('bug');
      return { statusCode: 200 };
    };
    const client = await TestClient.open(gateway.webSocketUrl);
    client.send('x');
    expect(await client.next()).toMatchObject({ message: 'Internal server error', connectionId: expect.any(String) });
    await client.close();
  });

  it('closes the connection with 1009 on a message over 128 KB', async () => {
    const client = await TestClient.open(gateway.webSocketUrl);
    client.send('x'.repeat(128 * 1024 + 1));
    expect((await client.waitClosed()).code).toBe(1009);
  });

  it('accepts a message of exactly 128 KB in frames of 32 KB', async () => {
    respond = async () => ({ statusCode: 200, body: 'got it' });
    const client = await TestClient.open(gateway.webSocketUrl);
    client.sendInFrames('x'.repeat(128 * 1024));
    expect(await client.next()).toBe('got it');
    await client.close();
  });

  it('closes the connection with 1009 on a single frame over 32 KB (what browsers send for a bigger message), routing nothing', async () => {
    const client = await TestClient.open(gateway.webSocketUrl);
    client.send('x'.repeat(32 * 1024 + 1));
    expect((await client.waitClosed()).code).toBe(1009);
    await until(() => eventsFor('$disconnect').length === 1);
    expect(eventsFor('$default')).toEqual([]);
  });

  it('takes a frame of exactly 32 KB', async () => {
    respond = async () => ({ statusCode: 200, body: 'fine' });
    const client = await TestClient.open(gateway.webSocketUrl);
    client.send('x'.repeat(32 * 1024));
    expect(await client.next()).toBe('fine');
    await client.close();
  });

  it('closes the connection with 1003 on a binary frame, routing nothing', async () => {
    const client = await TestClient.open(gateway.webSocketUrl);
    client.socket.send(Buffer.from([0xff, 0xfe, 0x00]), { binary: true });
    expect((await client.waitClosed()).code).toBe(1003);
    await until(() => eventsFor('$disconnect').length === 1);
    expect(eventsFor('$default')).toEqual([]);
  });
});

describe('$disconnect', () => {
  it('runs when the client closes, with the close code', async () => {
    const client = await TestClient.open(gateway.webSocketUrl);
    client.socket.close(4000, 'done');
    await until(() => eventsFor('$disconnect').length === 1);
    expect(eventsFor('$disconnect')[0].requestContext).toMatchObject({
      eventType: 'DISCONNECT',
      disconnectStatusCode: 4000,
      disconnectReason: 'done',
      connectionId: eventsFor('$connect')[0].requestContext.connectionId,
    });
  });

  it('is not run for a connection dropped without one (a lost network)', async () => {
    const client = await TestClient.open(gateway.webSocketUrl);
    gateway.dropWithoutDisconnect(eventsFor('$connect')[0].requestContext.connectionId);
    await client.waitClosed();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(eventsFor('$disconnect')).toEqual([]);
  });
});

describe('@connections', () => {
  it('delivers PostToConnection through the real SDK client', async () => {
    const client = await TestClient.open(gateway.webSocketUrl);
    const id = eventsFor('$connect')[0].requestContext.connectionId;
    await management.send(new PostToConnectionCommand({ ConnectionId: id, Data: '{"hello":"there"}' }));
    expect(await client.next()).toEqual({ hello: 'there' });
    await client.close();
  });

  it('answers GET with connectedAt, lastActiveAt and identity', async () => {
    const client = await TestClient.open(gateway.webSocketUrl, { headers: { 'User-Agent': 'gateway-test' } });
    const id = eventsFor('$connect')[0].requestContext.connectionId;
    const info = await management.send(new GetConnectionCommand({ ConnectionId: id }));
    expect(info.ConnectedAt).toBeInstanceOf(Date);
    expect(info.LastActiveAt).toBeInstanceOf(Date);
    expect(info.Identity).toEqual({ SourceIp: '127.0.0.1', UserAgent: 'gateway-test' });
    await client.close();
  });

  it('disconnects on DELETE, running $disconnect, then answers 410', async () => {
    const client = await TestClient.open(gateway.webSocketUrl);
    const id = eventsFor('$connect')[0].requestContext.connectionId;
    await management.send(new DeleteConnectionCommand({ ConnectionId: id }));
    await client.waitClosed();
    await until(() => eventsFor('$disconnect').length === 1);
    await expect(management.send(new PostToConnectionCommand({ ConnectionId: id, Data: 'x' }))).rejects.toBeInstanceOf(GoneException);
  });

  it.each([
    ['POST', new PostToConnectionCommand({ ConnectionId: 'bm9ib2R5aGVyZQ=', Data: 'x' })],
    ['GET', new GetConnectionCommand({ ConnectionId: 'bm9ib2R5aGVyZQ=' })],
    ['DELETE', new DeleteConnectionCommand({ ConnectionId: 'bm9ib2R5aGVyZQ=' })],
  ])('answers %s for an unknown id with GoneException', async (_, command) => {
    const error = await management.send(command as never).catch((e) => e);
    expect(error).toBeInstanceOf(GoneException);
    expect(error.$metadata.httpStatusCode).toBe(410);
  });

  it('refuses unsigned calls and paths without the stage with 403, as AWS does', async () => {
    const client = await TestClient.open(gateway.webSocketUrl);
    const id = eventsFor('$connect')[0].requestContext.connectionId;
    const unsigned = await fetch(`${gateway.managementEndpoint}/@connections/${encodeURIComponent(id)}`, { method: 'POST', body: 'hi' });
    expect(unsigned.status).toBe(403);
    expect(unsigned.headers.get('x-amzn-errortype')).toBe('ForbiddenException');
    const stageless = new ApiGatewayManagementApiClient({
      ...LOCAL_AWS,
      endpoint: gateway.managementEndpoint.replace(/\/production$/, ''),
    });
    const error = await stageless.send(new PostToConnectionCommand({ ConnectionId: id, Data: 'hi' })).catch((e) => e);
    stageless.destroy();
    expect(error.$metadata.httpStatusCode).toBe(403);
    await client.close();
  });

  it('refuses a post over 128 KB with 413 PayloadTooLargeException', async () => {
    const client = await TestClient.open(gateway.webSocketUrl);
    const id = eventsFor('$connect')[0].requestContext.connectionId;
    const error = await management
      .send(new PostToConnectionCommand({ ConnectionId: id, Data: 'x'.repeat(128 * 1024 + 1) }))
      .catch((e) => e);
    expect(error.name).toBe('PayloadTooLargeException');
    expect(error.$metadata.httpStatusCode).toBe(413);
    await client.close();
  });
});

describe('throttling', () => {
  it('answers 429 over the stage limit, on both APIs, and recovers at its rate', async () => {
    await gateway.stop();
    await start({ throttle: { stage: { rateLimit: 5, burstLimit: 3 } } });
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await fetch(`${gateway.httpUrl}/health`)).status);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    await new Promise((resolve) => setTimeout(resolve, 450));
    expect((await fetch(`${gateway.httpUrl}/health`)).status).toBe(200);
    // The WebSocket API's stage has a bucket of its own: $connect and messages draw on it.
    respond = async () => ({ statusCode: 200, body: 'ok' });
    const client = await TestClient.open(gateway.webSocketUrl);
    client.send('a');
    client.send('b');
    client.send('c');
    const replies = [await client.next<unknown>(), await client.next<unknown>(), await client.next<unknown>()];
    // The refusal comes at once, the others after their invocations.
    expect(replies.filter((r) => r === 'ok')).toHaveLength(2);
    expect(replies.find((r) => r !== 'ok')).toMatchObject({ message: 'Too Many Requests', connectionId: expect.any(String) });
    await client.close();
  });

  it('answers @connections 429 LimitExceededException over the account budget, which both APIs share', async () => {
    await gateway.stop();
    await start({ throttle: { stage: false, account: { rateLimit: 1, burstLimit: 2 } } });
    const client = await TestClient.open(gateway.webSocketUrl); // one token
    const id = eventsFor('$connect')[0].requestContext.connectionId;
    await management.send(new PostToConnectionCommand({ ConnectionId: id, Data: 'one' })); // the second
    const error = await new ApiGatewayManagementApiClient({ ...LOCAL_AWS, endpoint: gateway.managementEndpoint, maxAttempts: 1 })
      .send(new PostToConnectionCommand({ ConnectionId: id, Data: 'two' }))
      .catch((e) => e);
    expect(error.name).toBe('LimitExceededException');
    expect(error.$metadata.httpStatusCode).toBe(429);
    expect((await fetch(`${gateway.httpUrl}/health`)).status).toBe(429);
    await client.close();
  });
});

describe('integration timeouts', () => {
  it('answers a WebSocket route that runs too long with API Gateway’s timeout message, and an HTTP route with 503', async () => {
    await gateway.stop();
    await start({ integrationTimeoutMs: { webSocket: 100, http: 100 } });
    respond = async (event) => {
      if (event.requestContext.eventType === 'CONNECT') return { statusCode: 200 };
      await new Promise((resolve) => setTimeout(resolve, 300));
      return { statusCode: 200, body: 'late' };
    };
    const client = await TestClient.open(gateway.webSocketUrl);
    client.send('slow');
    expect(await client.next()).toMatchObject({
      message: 'Endpoint request timed out',
      connectionId: expect.any(String),
      requestId: expect.any(String),
    });
    const response = await fetch(`${gateway.httpUrl}/health`);
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ message: 'Service Unavailable' });
    await client.close();
  });
});

describe('timeouts', () => {
  it('closes a connection idle longer than the idle timeout', async () => {
    await gateway.stop();
    await start({ idleTimeoutMs: 150 });
    const client = await TestClient.open(gateway.webSocketUrl);
    expect((await client.waitClosed()).code).toBe(1001);
    await until(() => eventsFor('$disconnect').length === 1);
  });

  it('keeps a connection that sends messages, until its maximum duration', async () => {
    await gateway.stop();
    await start({ idleTimeoutMs: 150, maxConnectionMs: 500 });
    const client = await TestClient.open(gateway.webSocketUrl);
    const opened = Date.now();
    const pinger = setInterval(() => client.send('ping'), 50);
    const closed = await client.waitClosed();
    clearInterval(pinger);
    expect(closed.code).toBe(1001);
    expect(Date.now() - opened).toBeGreaterThanOrEqual(450);
  });
});

describe('HTTP API', () => {
  it('sends a payload format 2.0 event', async () => {
    respond = async () => ({ statusCode: 200, body: '{}' });
    await postJson(`${gateway.httpUrl}/broadcast?a=1&a=2&b=x`, { hello: 1 }, { 'X-Custom': 'Yes', Authorization: 'Bearer k' });
    const [event] = eventsFor('POST /broadcast');
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: 'POST /broadcast',
      rawPath: '/broadcast',
      rawQueryString: 'a=1&a=2&b=x',
      queryStringParameters: { a: '1,2', b: 'x' },
      headers: expect.objectContaining({ 'x-custom': 'Yes', authorization: 'Bearer k', 'content-type': 'application/json' }),
      requestContext: expect.objectContaining({
        routeKey: 'POST /broadcast',
        stage: '$default',
        http: expect.objectContaining({ method: 'POST', path: '/broadcast', sourceIp: '127.0.0.1' }),
        timeEpoch: expect.any(Number),
      }),
      body: '{"hello":1}',
      isBase64Encoded: false,
    });
  });

  it('base64-encodes form-encoded bodies (what curl -d sends) and bodies with no content type, as HTTP APIs do', async () => {
    await fetch(`${gateway.httpUrl}/broadcast`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: '{"a":1}',
    });
    await fetch(`${gateway.httpUrl}/broadcast`, { method: 'POST', body: Buffer.from('{"b":2}') });
    const [form, bare] = eventsFor('POST /broadcast');
    expect(form).toMatchObject({ body: Buffer.from('{"a":1}').toString('base64'), isBase64Encoded: true });
    expect(bare).toMatchObject({ body: Buffer.from('{"b":2}').toString('base64'), isBase64Encoded: true });
  });

  it('base64-encodes a binary body', async () => {
    await fetch(`${gateway.httpUrl}/broadcast`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: Buffer.from([0, 1, 2]),
    });
    expect(eventsFor('POST /broadcast')[0]).toMatchObject({ body: 'AAEC', isBase64Encoded: true });
  });

  it('maps a structured result to status, headers and body', async () => {
    respond = async () => ({ statusCode: 201, headers: { 'x-result': 'yes' }, body: 'made', cookies: ['a=1'] });
    const response = await fetch(`${gateway.httpUrl}/health`);
    expect(response.status).toBe(201);
    expect(response.headers.get('x-result')).toBe('yes');
    expect(response.headers.get('set-cookie')).toBe('a=1');
    expect(await response.text()).toBe('made');
  });

  it('turns a plain returned object into a 200 JSON body', async () => {
    respond = async () => ({ status: 'ok' });
    const response = await fetch(`${gateway.httpUrl}/health`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('sends an undeclared path, // included, to the $default route, as API Gateway does', async () => {
    respond = async () => ({ statusCode: 404, body: '{"code":"not_found"}' });
    for (const path of ['/nope', '//', '//x']) {
      const response = await fetch(`${gateway.httpUrl}${path}`);
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual({ code: 'not_found' });
    }
    expect(events.map((e) => [e.routeKey, e.rawPath])).toEqual([
      ['$default', '/nope'],
      ['$default', '//'],
      ['$default', '//x'],
    ]);
  });

  it('answers 500 when the handler throws', async () => {
    respond = async () => {
      throw new Error('bug');
    };
    const response = await fetch(`${gateway.httpUrl}/health`);
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ message: 'Internal Server Error' });
  });
});

describe('ports', () => {
  it('fails with one line naming the setting when a port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    const second = new LocalGateway({ handler: async () => ({}), httpPort: port });
    await expect(second.listen()).rejects.toThrow(`Port ${port} on 127.0.0.1 is already in use; set HTTP_PORT to another port`);
    await new Promise((resolve) => blocker.close(resolve));
  });
});
