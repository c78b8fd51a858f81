/**
 * The Pusher endpoint's CloudFront Function as deployed: `viewer-request.js` beside this file with
 * the WebSocket stage baked in. The construct deploys what this returns and `npm start` runs it, so
 * both run the same code. Nothing here loads aws-cdk-lib: the local stack imports it at start.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

/** The function's source, shipped beside the compiled construct (tools/build-package.ts copies it). */
export const VIEWER_REQUEST_FILE = path.join(__dirname, 'viewer-request.js');

/** CloudFront refuses a function whose code is larger (FunctionSizeLimitExceeded). */
export const CLOUDFRONT_FUNCTION_CODE_LIMIT_BYTES = 10 * 1024;

/**
 * What the handler's `$connect` reads of a handshake that came through the endpoint: the app key
 * (from the path) and Pusher's protocol version, in its query string.
 */
export const PUSHER_QUERY = { appKey: 'appKey', protocol: 'protocol' } as const;

/**
 * The viewer's headers CloudFront forwards to API Gateway (the origin request policy; `npm start`
 * forwards the same): the handshake's own, and who is connecting. Never `Host`: API Gateway answers
 * 403 unless the Host is its own domain, which CloudFront sends when the viewer's is not forwarded.
 */
export const FORWARDED_HEADERS = [
  'Sec-WebSocket-Key',
  'Sec-WebSocket-Version',
  'Sec-WebSocket-Protocol',
  'Sec-WebSocket-Extensions',
  'Origin',
  'User-Agent',
] as const;

const PLACEHOLDER = "'__STAGE_NAME__'";
const STAGE_NAME = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * The function's code for a stage: the placeholder replaced, once. Throws if the stage is not a
 * plain stage name or the result would not fit CloudFront's 10 KB.
 * @example
 * new cloudfront.Function(this, 'ViewerRequest', { code: FunctionCode.fromInline(viewerRequestCode('production')) });
 */
export function viewerRequestCode(stageName: string): string {
  if (!STAGE_NAME.test(stageName)) throw new Error(`The Pusher endpoint needs a stage name of letters, digits, - and _, got ${stageName}`);
  const source = readFileSync(VIEWER_REQUEST_FILE, 'utf8');
  const parts = source.split(PLACEHOLDER);
  if (parts.length !== 2) throw new Error(`${VIEWER_REQUEST_FILE} must hold the stage placeholder ${PLACEHOLDER} exactly once`);
  const code = parts.join(`'${stageName}'`);
  const bytes = Buffer.byteLength(code);
  if (bytes > CLOUDFRONT_FUNCTION_CODE_LIMIT_BYTES) {
    throw new Error(
      `The Pusher endpoint's function is ${bytes} bytes; CloudFront Functions take at most ${CLOUDFRONT_FUNCTION_CODE_LIMIT_BYTES}`,
    );
  }
  return code;
}
