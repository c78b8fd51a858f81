/**
 * The lean delivery path against a stand-in `@connections` endpoint over real HTTP: signed
 * requests to the stage's path, outcomes by status, retries, and hung posts abandoned.
 */
import { AwsHttp, credentialsFromEnv } from '../../../lambda/adapters/aws-http';
import { ConnectionsApiDelivery } from '../../../lambda/adapters/connections-api';
import { StandInConnections } from '../../../local/stand-in-connections';
import { TEST_CREDENTIALS } from '../../helpers/handler';

const endpoint = new StandInConnections();
let http: AwsHttp;
const sleeps: number[] = [];
const delivery = (options: ConstructorParameters<typeof ConnectionsApiDelivery>[1] = {}) =>
  new ConnectionsApiDelivery(http, { sleep: async (ms) => void sleeps.push(ms), random: () => 1, ...options });

beforeAll(async () => {
  http = new AwsHttp({
    endpoint: await endpoint.listen(),
    service: 'execute-api',
    region: 'eu-west-1',
    credentials: { ...TEST_CREDENTIALS, sessionToken: 'session' },
  });
});
afterAll(async () => {
  http.destroy();
  await endpoint.close();
});
beforeEach(() => {
  endpoint.reset();
  sleeps.length = 0;
});

describe('ConnectionsApiDelivery', () => {
  it('posts the message to the connection, its id escaped, signed', async () => {
    const id = 'L0SM9c+OF/vHcCIhw=';
    expect(await delivery().post(id, '{"a":1}')).toBe('sent');
    expect(endpoint.posted()).toEqual([[id, { a: 1 }]]);
  });

  it('signs with SigV4 for execute-api, the session token and the body hash included', async () => {
    const seen: Record<string, string | string[] | undefined>[] = [];
    const spy = new StandInConnections();
    const url = await spy.listen();
    const server = (spy as unknown as { server: import('node:http').Server }).server;
    server.prependListener('request', (req) => seen.push(req.headers));
    const signedHttp = new AwsHttp({
      endpoint: url,
      service: 'execute-api',
      region: 'eu-west-1',
      credentials: { ...TEST_CREDENTIALS, sessionToken: 'session' },
    });
    await new ConnectionsApiDelivery(signedHttp).post('abc=', 'hello');
    signedHttp.destroy();
    await spy.close();
    expect(seen[0]).toMatchObject({
      authorization: expect.stringMatching(
        /^AWS4-HMAC-SHA256 Credential=AKIDTEST\/\d{8}\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}$/,
      ),
      'x-amz-date': expect.stringMatching(/^\d{8}T\d{6}Z$/),
      'x-amz-security-token': 'session',
      'x-amz-content-sha256': '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824',
    });
  });

  it('reports 410 as gone without retrying', async () => {
    endpoint.script('gone=', 410);
    expect(await delivery().post('gone=', 'm')).toBe('gone');
    expect(endpoint.calls).toHaveLength(1);
  });

  it('retries throttling and server errors with growing, jittered waits, then succeeds', async () => {
    endpoint.script('busy=', 429, 503);
    expect(await delivery().post('busy=', 'm')).toBe('sent');
    expect(endpoint.calls.map((call) => call.status)).toEqual([429, 503, 200]);
    expect(sleeps).toEqual([100, 200]);
  });

  it('gives up after the last attempt and reports failed', async () => {
    endpoint.script('down=', 500, 500, 500);
    expect(await delivery().post('down=', 'm')).toBe('failed');
    expect(endpoint.calls).toHaveLength(3);
  });

  it('retries throttling until the deadline, however many attempts that takes', async () => {
    endpoint.script('storm=', 429, 429, 429, 429, 429, 429);
    expect(await delivery().post('storm=', 'm', Date.now() + 60_000)).toBe('sent');
    expect(endpoint.calls).toHaveLength(7);
    expect(Math.max(...sleeps)).toBeLessThanOrEqual(1000);
  });

  it('stops retrying throttling when the next attempt could not finish before the deadline', async () => {
    endpoint.script('late=', 429, 429);
    expect(await delivery().post('late=', 'm', Date.now() + 500)).toBe('deferred');
    expect(endpoint.calls).toHaveLength(1);
  });

  it('gives server errors a few attempts even with a deadline', async () => {
    endpoint.script('broken=', 500, 502, 503, 504);
    expect(await delivery().post('broken=', 'm', Date.now() + 60_000)).toBe('failed');
    expect(endpoint.calls).toHaveLength(3);
  });

  it('does not retry a 403', async () => {
    endpoint.script('denied=', 403);
    expect(await delivery().post('denied=', 'm')).toBe('failed');
    expect(endpoint.calls).toHaveLength(1);
  });

  it('abandons a hung post after the attempt timeout and tries again', async () => {
    endpoint.script('hung=', 'hang');
    const started = Date.now();
    expect(await delivery({ attemptTimeoutMs: 200 }).post('hung=', 'm')).toBe('sent');
    expect(Date.now() - started).toBeLessThan(1500);
    expect(endpoint.calls.map((call) => call.status)).toEqual(['hang', 200]);
  });

  it('closes a connection with DELETE', async () => {
    expect(await delivery().close('bye=')).toBe('sent');
    expect(endpoint.calls).toEqual([{ method: 'DELETE', connectionId: 'bye=', body: undefined, status: 204 }]);
  });

  it('is refused (403) by an endpoint when the path lacks the stage, as on AWS', async () => {
    const noStage = new AwsHttp({
      endpoint: endpoint.url.replace(/\/production$/, ''),
      service: 'execute-api',
      region: 'eu-west-1',
      credentials: TEST_CREDENTIALS,
    });
    expect(await new ConnectionsApiDelivery(noStage).post('x=', 'm')).toBe('failed');
    noStage.destroy();
  });
});

describe('credentialsFromEnv', () => {
  it('reads the execution role’s credentials, and fails clearly without them', () => {
    expect(credentialsFromEnv({ AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b', AWS_SESSION_TOKEN: 'c' })).toEqual({
      accessKeyId: 'a',
      secretAccessKey: 'b',
      sessionToken: 'c',
    });
    expect(() => credentialsFromEnv({})).toThrow('AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set');
  });
});
