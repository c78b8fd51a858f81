/**
 * The Pusher endpoint's CloudFront Function (lib/pusher-endpoint/viewer-request.js), as the
 * construct deploys it, run in the local CloudFront Functions sandbox with CloudFront's event shape:
 * what it rewrites, what it refuses, its size, and that it uses nothing cloudfront-js-2.0 lacks.
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { CLOUDFRONT_FUNCTION_CODE_LIMIT_BYTES, PUSHER_QUERY, VIEWER_REQUEST_FILE, viewerRequestCode } from '../../lib/pusher-endpoint/code';
import { CloudFrontFunction, FunctionOutcome, ViewerRequestEvent } from '../../local/cloudfront/function-runtime';
import { viewerEvent } from '../helpers/cloudfront';

const ROOT = path.join(__dirname, '..', '..');
const fn = new CloudFrontFunction(viewerRequestCode('production'), VIEWER_REQUEST_FILE);

/** A WebSocket handshake's headers as CloudFront shows them to a function (no Upgrade, no Connection). */
const HANDSHAKE = {
  host: { value: 'd111111abcdef8.cloudfront.net' },
  'sec-websocket-key': { value: 'dGhlIHNhbXBsZSBub25jZQ==' },
  'sec-websocket-version': { value: '13' },
  'user-agent': { value: 'Mozilla/5.0' },
};
/** What pusher-js 8.6 sends. */
const PUSHER_JS_QUERY = { protocol: { value: '7' }, client: { value: 'js' }, version: { value: '8.6.0' }, flash: { value: 'false' } };

const event = (request: Partial<ViewerRequestEvent['request']>): ViewerRequestEvent =>
  viewerEvent({ method: 'GET', uri: '/app/rbk_Xy12Ab34', querystring: PUSHER_JS_QUERY, headers: HANDSHAKE, cookies: {}, ...request });

/** The function's answer when it refuses: status and the message in its JSON body. */
function refusal(outcome: FunctionOutcome) {
  if (outcome.kind !== 'response') throw new Error(`not refused: ${JSON.stringify(outcome)}`);
  const { statusCode, headers, body } = outcome.response;
  return { statusCode, headers: Object.fromEntries(headers), message: (JSON.parse(body.toString()) as { message: string }).message };
}

describe('a pusher-js handshake', () => {
  it('goes to the stage, with the app key and pusher-js’s query parameters in the query string', async () => {
    const outcome = await fn.run(event({}));
    expect(outcome).toEqual({
      kind: 'request',
      request: expect.objectContaining({
        method: 'GET',
        uri: '/production',
        querystring: { appKey: { value: 'rbk_Xy12Ab34' }, ...PUSHER_JS_QUERY },
        headers: HANDSHAKE,
      }),
    });
  });

  it('names the parameters as the handler’s $connect reads them', async () => {
    const outcome = await fn.run(event({}));
    expect(outcome.kind === 'request' && outcome.request.querystring[PUSHER_QUERY.appKey]).toEqual({ value: 'rbk_Xy12Ab34' });
    expect(outcome.kind === 'request' && outcome.request.querystring[PUSHER_QUERY.protocol]).toEqual({ value: '7' });
  });

  it.each(['/production/app/key_1', '/ws/app/key_1', '/a/b/c/d/app/key_1', '/app/app/key_1'])(
    'with a wsPath (%s) goes to the stage too',
    async (uri) => {
      const outcome = await fn.run(event({ uri }));
      expect(outcome).toMatchObject({ kind: 'request', request: { uri: '/production', querystring: { appKey: { value: 'key_1' } } } });
    },
  );

  it('keeps only Pusher’s parameters: an appKey, token or projectId of the client’s own is dropped', async () => {
    const outcome = await fn.run(
      event({
        querystring: { ...PUSHER_JS_QUERY, appKey: { value: 'someone_else' }, token: { value: 'eyJ' }, projectId: { value: 'acme' } },
      }),
    );
    expect(outcome).toMatchObject({ kind: 'request', request: { querystring: { appKey: { value: 'rbk_Xy12Ab34' }, ...PUSHER_JS_QUERY } } });
    expect(Object.keys((outcome as { request: { querystring: object } }).request.querystring).sort()).toEqual(
      ['appKey', 'client', 'flash', 'protocol', 'version'].sort(),
    );
  });

  it('goes on without Pusher’s parameters: whether a protocol version is needed is the handler’s decision', async () => {
    expect(await fn.run(event({ querystring: {} }))).toMatchObject({
      kind: 'request',
      request: { querystring: { appKey: { value: 'rbk_Xy12Ab34' } } },
    });
  });

  it('takes the stage it was given at synth', async () => {
    const staging = new CloudFrontFunction(viewerRequestCode('stage_2-b'), VIEWER_REQUEST_FILE);
    expect(await staging.run(event({}))).toMatchObject({ kind: 'request', request: { uri: '/stage_2-b' } });
  });
});

describe('refused by the function itself, never sent on', () => {
  it.each([
    ['the root', '/'],
    ['the stage path', '/production'],
    ['a path without a key', '/app'],
    ['a trailing slash', '/app/key/'],
    ['a path after the key', '/app/key/more'],
    ['a wsPath of five segments', '/a/b/c/d/e/app/key'],
    ['a wsPath segment with a dot', '/../app/key'],
    ['a double slash', '//app/key'],
    ['a favicon', '/favicon.ico'],
  ])('%s: 404', async (_, uri) => {
    expect(refusal(await fn.run(event({ uri })))).toMatchObject({ statusCode: 404, message: expect.stringContaining('/app/{key}') });
  });

  it.each([
    ['empty', '/app/'],
    ['65 characters', `/app/${'k'.repeat(65)}`],
    ['a dot', '/app/key.1'],
    ['percent-encoded', '/app/k%41y'],
    ['a colon', '/app/k:y'],
  ])('an app key that is %s: 400', async (_, uri) => {
    expect(refusal(await fn.run(event({ uri })))).toMatchObject({
      statusCode: 400,
      message: expect.stringMatching(/app key .* 1 to 64 letters/),
    });
  });

  it('a 64-character key is a key', async () => {
    expect(await fn.run(event({ uri: `/app/${'k'.repeat(64)}` }))).toMatchObject({ kind: 'request' });
  });

  it.each(['POST', 'HEAD', 'PUT', 'DELETE', 'OPTIONS'])('%s: 405, saying GET', async (method) => {
    expect(refusal(await fn.run(event({ method })))).toMatchObject({ statusCode: 405, headers: { Allow: 'GET' } });
  });

  it('a plain GET, not a WebSocket handshake: 426', async () => {
    const { 'sec-websocket-key': _, 'sec-websocket-version': __, ...plain } = HANDSHAKE;
    expect(refusal(await fn.run(event({ headers: plain })))).toEqual({
      statusCode: 426,
      headers: expect.objectContaining({ 'Sec-Websocket-Version': '13' }),
      message: 'This endpoint takes WebSocket connections only',
    });
  });

  it.each([
    ['another WebSocket version', 426, { ...HANDSHAKE, 'sec-websocket-version': { value: '8' } }],
    ['no version', 426, { host: HANDSHAKE.host, 'sec-websocket-key': HANDSHAKE['sec-websocket-key'] }],
    ['no key', 400, { host: HANDSHAKE.host, 'sec-websocket-version': HANDSHAKE['sec-websocket-version'] }],
    ['a malformed key', 400, { ...HANDSHAKE, 'sec-websocket-key': { value: 'not-a-nonce' } }],
    [
      'two keys',
      400,
      {
        ...HANDSHAKE,
        'sec-websocket-key': { value: 'dGhlIHNhbXBsZSBub25jZQ==', multiValue: [{ value: 'dGhlIHNhbXBsZSBub25jZQ==' }, { value: 'x' }] },
      },
    ],
  ])('a handshake with %s: %d', async (_, statusCode, headers) => {
    expect(refusal(await fn.run(event({ headers })))).toMatchObject({ statusCode });
  });

  it.each([
    ['protocol', { protocol: { value: '7a' } }],
    ['protocol', { protocol: { value: '7', multiValue: [{ value: '7' }, { value: '6' }] } }],
    ['version', { version: { value: '8.6.0 ' } }],
    ['client', { client: { value: 'j'.repeat(65) } }],
    ['flash', { flash: { value: 'maybe' } }],
  ])('a bad %s parameter: 400', async (name, query) => {
    expect(refusal(await fn.run(event({ querystring: { ...PUSHER_JS_QUERY, ...query } })))).toEqual({
      statusCode: 400,
      headers: expect.objectContaining({ 'Content-Type': 'application/json', 'Cache-Control': 'no-store' }),
      message: `Invalid query parameter ${name}: give it once, as pusher-js does`,
    });
  });

  it('never repeats what the client sent in its answer', async () => {
    const junk = '/<script>alert(1)</script>';
    const outcome = await fn.run(event({ uri: junk, method: 'POST' }));
    expect(JSON.stringify(refusal(outcome))).not.toContain('script');
  });
});

describe('the deployed code', () => {
  it('fits CloudFront’s 10 KB with the longest stage name, with room to spare', () => {
    const bytes = Buffer.byteLength(viewerRequestCode('s'.repeat(128)));
    console.log(
      `the Pusher endpoint's function: ${bytes.toLocaleString('en')} bytes of ${CLOUDFRONT_FUNCTION_CODE_LIMIT_BYTES.toLocaleString('en')}`,
    );
    expect(bytes).toBeLessThan(CLOUDFRONT_FUNCTION_CODE_LIMIT_BYTES / 2);
  });

  it('has the stage baked in, and no placeholder left', () => {
    const code = viewerRequestCode('live');
    expect(code).toContain("var STAGE = 'live';");
    expect(code).not.toContain('__STAGE_NAME__');
  });

  it('takes only a plain stage name (it is written into code)', () => {
    expect(() => viewerRequestCode("x';process.exit();'")).toThrow(/stage name of letters, digits, - and _/);
    expect(() => viewerRequestCode('s'.repeat(129))).toThrow(/stage name/);
  });

  it('uses nothing cloudfront-js-2.0 lacks: its globals only, no eval, only the syntax it documents (the repository’s lint)', async () => {
    // ESLint as `npm run lint` runs it (its config is an ES module, which jest cannot load).
    const lint = async (stdin?: string): Promise<string[]> => {
      const args = [
        path.join(ROOT, 'node_modules', 'eslint', 'bin', 'eslint.js'),
        '--format',
        'json',
        ...(stdin ? ['--stdin', '--stdin-filename'] : []),
        VIEWER_REQUEST_FILE,
      ];
      const child = promisify(execFile)(process.execPath, args, { cwd: ROOT });
      child.child.stdin!.end(stdin ?? '');
      const { stdout } = await child.catch((failed: { stdout: string }) => failed);
      return (JSON.parse(stdout) as { messages: { message: string }[] }[])[0].messages.map((m) => m.message);
    };
    expect(await lint()).toEqual([]);
    // The same lint refuses what CloudFront would.
    const planted = await lint(
      'function handler(event) { setTimeout(function () {}, 1); var { request } = event; return fetch(request?.uri) ?? process.env.X; }\nclass Extra {}\n',
    );
    expect(planted).toEqual(
      expect.arrayContaining([
        "'setTimeout' is not defined.",
        "'fetch' is not defined.",
        "'process' is not defined.",
        'cloudfront-js-2.0 does not document destructuring',
        'cloudfront-js-2.0 does not document optional chaining',
        'cloudfront-js-2.0 does not document nullish coalescing',
        'cloudfront-js-2.0 does not document classes',
      ]),
    );
  }, 30_000);
});
