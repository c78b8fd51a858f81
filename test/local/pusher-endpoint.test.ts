/**
 * The Pusher endpoint under `npm start`, end to end over real sockets: a `ws` client opens the URL
 * pusher-js opens, the deployed CloudFront Function runs, and the local WebSocket API's `$connect`
 * (a recording handler here) sees the stage path with `appKey` and `protocol` in its query; frames
 * then flow both ways through the endpoint. What the function refuses never reaches the API.
 */
import { ApiGatewayManagementApiClient, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import Pusher from 'pusher-js';
import { WebSocket } from 'ws';
import { LocalPusherEndpoint } from '../../local/cloudfront/pusher-endpoint';
import { LocalGateway, LocalHandler } from '../../local/gateway';
import { LocalStack, startLocalStack } from '../../local/stack';
import { LOCAL_AWS } from '../../local/store';

type Event = Record<string, any>;

let events: Event[];
let respond: (event: Event) => Promise<unknown>;
let gateway: LocalGateway;
let endpoint: LocalPusherEndpoint;
let errors: Error[];

beforeEach(async () => {
  events = [];
  errors = [];
  respond = async (event) =>
    event.requestContext.eventType === 'MESSAGE' ? { statusCode: 200, body: `echo ${event.body}` } : { statusCode: 200 };
  const handler: LocalHandler = async (event) => {
    events.push(event as Event);
    return respond(event as Event);
  };
  gateway = new LocalGateway({ handler, throttle: { stage: false, account: false } });
  await gateway.listen();
  const { hostname, port } = new URL(gateway.webSocketUrl);
  endpoint = new LocalPusherEndpoint({
    stage: 'production',
    origin: () => ({ host: hostname, port: Number(port) }),
    onError: (e) => errors.push(e),
  });
  await endpoint.listen();
});
afterEach(async () => {
  await endpoint.stop();
  await gateway.stop();
  expect(errors).toEqual([]);
});

const eventsFor = (eventType: string) => events.filter((e) => e.requestContext.eventType === eventType);
const PUSHER_JS_QUERY = 'protocol=7&client=js&version=8.6.0&flash=false';

/** Opens a WebSocket; resolves with it open, or with the HTTP answer that refused it. */
function open(url: string): Promise<{ socket: WebSocket } | { status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    socket.once('open', () => resolve({ socket }));
    socket.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    socket.once('error', reject);
  });
}

async function opened(url: string): Promise<WebSocket> {
  const result = await open(url);
  if (!('socket' in result)) throw new Error(`refused: ${result.status} ${result.body}`);
  return result.socket;
}

const nextMessage = (socket: WebSocket) =>
  new Promise<string>((resolve) => socket.once('message', (data: Buffer) => resolve(data.toString())));
const closed = (socket: WebSocket) =>
  new Promise<void>((resolve) => (socket.readyState === WebSocket.CLOSED ? resolve() : socket.once('close', () => resolve())));
/** Until `check` holds, polling the recorded events (the handler runs after the socket's own events). */
async function until(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('a pusher-js handshake', () => {
  it('reaches $connect on the stage path, with appKey and protocol in its query, and the API’s own Host', async () => {
    const socket = await opened(`${endpoint.url}/app/rbk_Xy12Ab34?${PUSHER_JS_QUERY}`);
    const [connect] = eventsFor('CONNECT');
    expect(connect.requestContext).toMatchObject({ routeKey: '$connect', stage: 'production' });
    expect(connect.queryStringParameters).toEqual({
      appKey: 'rbk_Xy12Ab34',
      protocol: '7',
      client: 'js',
      version: '8.6.0',
      flash: 'false',
    });
    expect(connect.headers).toMatchObject({
      Host: new URL(gateway.webSocketUrl).host,
      'Sec-WebSocket-Key': expect.stringMatching(/==$/),
      'Sec-WebSocket-Version': '13',
      'X-Forwarded-For': expect.stringContaining('127.0.0.1'),
      Via: expect.stringContaining('(CloudFront)'),
    });
    socket.close();
    await closed(socket);
  });

  it('with a wsPath goes to the same stage', async () => {
    const socket = await opened(`${endpoint.url}/production/app/key_2?${PUSHER_JS_QUERY}`);
    expect(eventsFor('CONNECT')[0].queryStringParameters).toMatchObject({ appKey: 'key_2', protocol: '7' });
    socket.close();
    await closed(socket);
  });

  it('then carries frames both ways, and its close to $disconnect', async () => {
    const socket = await opened(`${endpoint.url}/app/rbk_Xy12Ab34?${PUSHER_JS_QUERY}`);
    const reply = nextMessage(socket);
    socket.send('{"event":"pusher:ping","data":{}}');
    expect(await reply).toBe('echo {"event":"pusher:ping","data":{}}');
    expect(eventsFor('MESSAGE')[0].body).toBe('{"event":"pusher:ping","data":{}}');
    socket.close(1000);
    await until(() => eventsFor('DISCONNECT').length === 1);
    expect(eventsFor('DISCONNECT')[0].requestContext.connectionId).toBe(eventsFor('CONNECT')[0].requestContext.connectionId);
  });

  it('refused by $connect reaches the client with the handler’s status', async () => {
    respond = async () => ({ statusCode: 401, body: '{"error":"no"}' });
    expect(await open(`${endpoint.url}/app/rbk_Xy12Ab34?${PUSHER_JS_QUERY}`)).toMatchObject({ status: 401, body: '{"error":"no"}' });
  });

  it('is closed when the endpoint stops, and the API hears of it', async () => {
    const socket = await opened(`${endpoint.url}/app/rbk_Xy12Ab34?${PUSHER_JS_QUERY}`);
    await endpoint.stop();
    await closed(socket);
    await until(() => eventsFor('DISCONNECT').length === 1);
  });
});

describe('pusher-js itself (its Node build)', () => {
  it.each([
    ['without a wsPath', {}],
    ['with wsPath /production', { wsPath: '/production' }],
  ])('%s: its handshake passes the function, and it is connected once the API posts connection_established', async (_, extra) => {
    const pusher = new Pusher('rbk_Xy12Ab34', {
      cluster: 'mt1',
      wsHost: '127.0.0.1',
      wsPort: endpoint.port,
      forceTLS: false,
      enabledTransports: ['ws'],
      ...extra,
    });
    const management = new ApiGatewayManagementApiClient({ ...LOCAL_AWS, endpoint: gateway.managementEndpoint });
    try {
      await until(() => eventsFor('CONNECT').length === 1);
      const [connect] = eventsFor('CONNECT');
      expect(connect.queryStringParameters).toEqual({
        appKey: 'rbk_Xy12Ab34',
        protocol: '7',
        client: 'js',
        version: expect.any(String),
        flash: 'false',
      });
      // The handler's part, played here: Pusher's first message, once API Gateway has opened the connection (410 until then).
      const established = JSON.stringify({
        event: 'pusher:connection_established',
        data: JSON.stringify({ socket_id: '123.456', activity_timeout: 120 }),
      });
      const connected = new Promise((resolve) => pusher.connection.bind('connected', resolve));
      for (let posted = false; !posted;) {
        posted = await management
          .send(new PostToConnectionCommand({ ConnectionId: connect.requestContext.connectionId, Data: established }))
          .then(() => true)
          .catch((error: Error) =>
            error.name === 'GoneException' ? new Promise<false>((resolve) => setTimeout(() => resolve(false), 10)) : Promise.reject(error),
          );
      }
      await connected;
      expect(pusher.connection.socket_id).toBe('123.456');
    } finally {
      pusher.disconnect();
      management.destroy();
    }
  });
});

describe('a plain request with the handshake’s headers but no Upgrade', () => {
  it('goes on to the API as a plain request, which answers it as it answers one sent to it directly', async () => {
    const headers = { 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version': '13' };
    const through = await fetch(`${endpoint.url.replace('ws:', 'http:')}/app/rbk_Xy12Ab34?${PUSHER_JS_QUERY}`, { headers });
    const direct = await fetch(`${gateway.webSocketUrl.replace('ws:', 'http:')}?appKey=rbk_Xy12Ab34&${PUSHER_JS_QUERY}`, { headers });
    expect(through.headers.get('x-cache')).toBeNull();
    expect(direct.status).toBe(403);
    expect([through.status, await through.text()]).toEqual([direct.status, await direct.text()]);
  });
});

describe('refused by the function, never reaching the API', () => {
  it('a junk path: 404 with the function’s message, marked as a function’s response', async () => {
    const answer = await open(`${endpoint.url}/wp-admin/index.php`);
    expect(answer).toMatchObject({
      status: 404,
      headers: { 'content-type': 'application/json', server: 'CloudFront', 'x-cache': 'FunctionGeneratedResponse from cloudfront' },
    });
    expect(JSON.parse((answer as { body: string }).body)).toEqual({ message: expect.stringContaining('/app/{key}') });
    expect(events).toEqual([]);
  });

  it('a bad app key: 400', async () => {
    expect(await open(`${endpoint.url}/app/not.a.key?${PUSHER_JS_QUERY}`)).toMatchObject({ status: 400 });
    expect(events).toEqual([]);
  });

  it('a plain GET: 426, and a POST: 405', async () => {
    const plain = await fetch(`${endpoint.url.replace('ws:', 'http:')}/app/rbk_Xy12Ab34?${PUSHER_JS_QUERY}`);
    expect(plain.status).toBe(426);
    expect(await plain.json()).toEqual({ message: 'This endpoint takes WebSocket connections only' });
    const post = await fetch(`${endpoint.url.replace('ws:', 'http:')}/app/rbk_Xy12Ab34`, { method: 'POST', body: '{}' });
    expect([post.status, post.headers.get('allow')]).toEqual([405, 'GET']);
    expect(events).toEqual([]);
  });
});

describe('in the local stack', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startLocalStack({ accessKey: 'pusher-endpoint-master', lifecycleEventsFile: false });
  });
  afterAll(() => stack.stop());

  it('listens on a port of its own, in front of the stack’s WebSocket API', async () => {
    expect(stack.pusherUrl).toBe(`ws://127.0.0.1:${stack.pusherPort}`);
    expect(stack.pusherPort).not.toBe(Number(new URL(stack.webSocketUrl).port));
    expect(await open(`${stack.pusherUrl}/nowhere`)).toMatchObject({ status: 404 });
    // The handler speaks Pusher's protocol to it: an app key no project has is refused the Pusher way.
    const socket = await opened(`${stack.pusherUrl}/app/rbk_Xy12Ab34?${PUSHER_JS_QUERY}`);
    expect(JSON.parse(await nextMessage(socket))).toEqual({
      event: 'pusher:error',
      data: { code: 4001, message: expect.stringContaining('Unknown app key') },
    });
    await closed(socket);
  });
});
