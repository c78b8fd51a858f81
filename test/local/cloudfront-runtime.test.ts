/**
 * The local CloudFront Functions sandbox (local/cloudfront/function-runtime.ts): the event CloudFront
 * builds from a real request, only what cloudfront-js-2.0 offers inside, and CloudFront's checks on
 * what a function returns (503 when it fails, 502 when its result is invalid).
 */
import { createServer, IncomingMessage } from 'node:http';
import { AddressInfo, connect } from 'node:net';
import { CloudFrontFunction, ViewerRequestEvent, viewerRequestEvent } from '../../local/cloudfront/function-runtime';
import runtime from '../../local/cloudfront/cloudfront-js-2.0.json';
import { viewerEvent } from '../helpers/cloudfront';

const EVENT = viewerEvent({ method: 'GET', uri: '/a', querystring: {}, headers: { host: { value: 'example.com' } }, cookies: {} });
const run = (code: string, event = EVENT) => new CloudFrontFunction(code, 'test.js', { timeoutMs: 50 }).run(event);

describe('the event', () => {
  /** The event for one raw HTTP request, as the sandbox builds it. */
  async function eventFor(path: string, headers: [string, string][]): Promise<ViewerRequestEvent> {
    let received: IncomingMessage | undefined;
    const server = createServer((req, res) => {
      received = req;
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    // Written raw, so repeated headers arrive exactly as sent.
    await new Promise<void>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => {
        const lines = [['Host', `127.0.0.1:${port}`], ...headers, ['Connection', 'close']].map(([name, value]) => `${name}: ${value}\r\n`);
        socket.write(`GET ${path} HTTP/1.1\r\n${lines.join('')}\r\n`);
      });
      socket.on('error', reject).resume().on('end', resolve);
    });
    await new Promise((resolve) => server.close(resolve));
    return viewerRequestEvent(received!, { distributionDomainName: 'local', distributionId: 'E1', requestId: 'r2' });
  }

  it('has CloudFront’s shape: lower-case headers, {value} fields, multiValue when repeated, cookies apart, query values as sent', async () => {
    const event = await eventFor('/app/key?protocol=7&tag=a%20b&tag=c&flag', [
      ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='],
      ['X-Custom', 'one'],
      ['X-Custom', 'two'],
      ['Cookie', 'session=abc; theme=dark'],
    ]);
    expect(event).toEqual({
      version: '1.0',
      context: { distributionDomainName: 'local', distributionId: 'E1', requestId: 'r2', eventType: 'viewer-request' },
      viewer: { ip: '127.0.0.1' },
      request: {
        method: 'GET',
        uri: '/app/key',
        querystring: {
          protocol: { value: '7' },
          tag: { value: 'a%20b', multiValue: [{ value: 'a%20b' }, { value: 'c' }] },
          flag: { value: '' },
        },
        headers: expect.objectContaining({
          'sec-websocket-key': { value: 'dGhlIHNhbXBsZSBub25jZQ==' },
          'x-custom': { value: 'one', multiValue: [{ value: 'one' }, { value: 'two' }] },
          host: { value: expect.stringMatching(/^127\.0\.0\.1:\d+$/) },
        }),
        cookies: { session: { value: 'abc' }, theme: { value: 'dark' } },
      },
    });
  });

  it('leaves out the headers CloudFront never shows a function (Connection, Upgrade, X-Forwarded-Proto, …)', async () => {
    const event = await eventFor('/', [
      ['Upgrade', 'websocket'],
      ['X-Forwarded-Proto', 'https'],
      ['X-Real-IP', '10.0.0.1'],
      ['X-Amz-Cf-Id', 'forged'],
    ]);
    expect(Object.keys(event.request.headers).sort()).toEqual(['host']);
  });

  it('keeps a parameter named __proto__ as a parameter', async () => {
    const event = await eventFor('/?__proto__=x', []);
    expect(Object.getOwnPropertyDescriptor(event.request.querystring, '__proto__')?.value).toEqual({ value: 'x' });
  });
});

describe('the sandbox', () => {
  it('offers exactly the documented globals, console.log and require', async () => {
    const outcome = await run(`function handler(event) {
      event.request.headers['x-globals'] = { value: Object.getOwnPropertyNames(globalThis).filter(function (n) { return n !== 'handler'; }).sort().join(',') };
      return event.request;
    }`);
    const names = outcome.kind === 'request' ? outcome.request.headers['x-globals'].value.split(',') : [];
    // The documented error types InternalError and MemoryError are not V8's: the only names missing.
    expect(names).toEqual([...runtime.globals].sort());
  });

  it.each([
    ['setTimeout', 'setTimeout(function () {}, 0)'],
    ['process', 'process.env'],
    ['Buffer', "Buffer.from('x')"],
    ['fetch', "fetch('https://example.com')"],
    ['Map', 'new Map()'],
    ['eval', "eval('1')"],
    ['the Function constructor', "Function('return 1')()"],
    ['a module CloudFront lacks', "require('fs')"],
  ])('fails the function (503) when it uses %s', async (_, use) => {
    expect(await run(`function handler(event) { ${use}; return event.request; }`)).toMatchObject({
      kind: 'error',
      statusCode: 503,
      error: 'FunctionExecutionError',
    });
  });

  it('loads crypto and querystring, as CloudFront does', async () => {
    const outcome = await run(`function handler(event) {
      var hash = require('crypto').createHash('sha256').update('x').digest('hex');
      event.request.headers['x-hash'] = { value: hash };
      event.request.headers['x-query'] = { value: require('querystring').stringify({ a: '1 2' }) };
      return event.request;
    }`);
    expect(outcome).toMatchObject({
      kind: 'request',
      request: {
        headers: {
          'x-hash': { value: '2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881' },
          'x-query': { value: 'a=1%202' },
        },
      },
    });
  });

  it('stops a function that runs too long (503)', async () => {
    expect(await run('function handler() { for (;;) {} }')).toMatchObject({
      kind: 'error',
      statusCode: 503,
      reason: expect.stringMatching(/timed out/),
    });
  });

  it('waits for an async handler, and fails one that never settles (503)', async () => {
    expect(await run('async function handler(event) { return event.request; }')).toMatchObject({ kind: 'request' });
    expect(await run('function handler() { return new Promise(function () {}); }')).toMatchObject({
      kind: 'error',
      statusCode: 503,
      reason: expect.stringMatching(/did not settle/),
    });
  });

  it('keeps nothing from one run to the next', async () => {
    const fn = new CloudFrontFunction(
      "var runs = 0; function handler(event) { runs++; event.request.headers['x-runs'] = { value: String(runs) }; return event.request; }",
      'test.js',
    );
    await fn.run(EVENT);
    expect(await fn.run(EVENT)).toMatchObject({ request: { headers: { 'x-runs': { value: '1' } } } });
  });

  it('refuses code that defines no handler, as CloudFront refuses to publish it', () => {
    expect(() => new CloudFrontFunction('var handle = 1;', 'test.js')).toThrow(/defines no function handler/);
    expect(() => new CloudFrontFunction('function handler( {', 'test.js')).toThrow(/Unexpected/);
  });
});

describe('what a function returns', () => {
  it('is a generated response: status, headers as CloudFront writes them, a text or base64 body', async () => {
    expect(
      await run(
        "function handler() { return { statusCode: 403, statusDescription: 'Forbidden', headers: { 'x-why': { value: 'no' } }, body: 'nope' }; }",
      ),
    ).toEqual({
      kind: 'response',
      response: { statusCode: 403, statusDescription: 'Forbidden', headers: [['X-Why', 'no']], body: Buffer.from('nope') },
    });
    expect(await run("function handler() { return { statusCode: 200, body: { encoding: 'base64', data: 'aGk=' } }; }")).toMatchObject({
      response: { body: Buffer.from('hi') },
    });
  });

  it.each([
    ['a changed method', "event.request.method = 'POST'; return event.request;", /method/],
    ['a changed Host', "event.request.headers.host = { value: 'evil' }; return event.request;", /host, which is read-only/],
    [
      'a header CloudFront does not let functions add',
      "event.request.headers.upgrade = { value: 'websocket' }; return event.request;",
      /upgrade/,
    ],
    ['an upper-case header name', "event.request.headers['X-A'] = { value: '1' }; return event.request;", /lower-case/],
    ['a URI without its leading slash', "event.request.uri = 'a'; return event.request;", /start with \//],
    ['a space in the query string', "event.request.querystring = { a: { value: 'b c' } }; return event.request;", /spaces/],
    ['a URI of 8 KB', "event.request.uri = '/' + 'a'.repeat(8200); return event.request;", /8192/],
    ['nothing', 'return undefined;', /neither a request nor a response/],
    ['a status out of range', 'return { statusCode: 99 };', /malformed/],
    ['a body that is not base64', "return { statusCode: 200, body: { encoding: 'base64', data: '***' } };", /base64/],
  ])('is invalid with %s (502)', async (_, body, reason) => {
    expect(await run(`function handler(event) { ${body} }`)).toMatchObject({
      kind: 'error',
      statusCode: 502,
      error: 'FunctionValidationError',
      reason: expect.stringMatching(reason),
    });
  });
});
