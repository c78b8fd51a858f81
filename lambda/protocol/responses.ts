/**
 * The shapes answers take outside a WebSocket message: HTTP API bodies (success and error) and the
 * body of a refused `$connect`. Codecs pick the status from the error table and build the body here.
 */
import { errorSpec, Failure } from './errors';

/** An HTTP answer in API Gateway's shape. */
export interface HttpAnswer {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** The HTTP status an error answers with. */
export const statusOf = (failed: Failure): number => errorSpec(failed.code)?.status ?? 500;

export const httpJson = (statusCode: number, body: object): HttpAnswer => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

/**
 * The `error` field: the message, except for `unauthorized`, where it stays the seed's
 * `"Unauthorized"` (its clients match on that text); `message` then says what was wrong.
 */
const errorText = (failed: Failure): string => (failed.code === 'unauthorized' ? 'Unauthorized' : failed.message);

/** `{success:false, error, code, message, errors:[{code,message}]}`: the seed's shape and the list shape in one. */
export const httpError = (failed: Failure): HttpAnswer =>
  httpJson(statusOf(failed), {
    success: false,
    error: errorText(failed),
    code: failed.code,
    message: failed.message,
    errors: [{ code: failed.code, message: failed.message }],
  });

/** `{success:true, data}`. */
export const httpData = (data: unknown, statusCode = 200): HttpAnswer => httpJson(statusCode, { success: true, data });

/** A refused `$connect`: API Gateway refuses the upgrade and the client sees this status and body. */
export const connectRefusal = (failed: Failure): { statusCode: number; body: string } => ({
  statusCode: statusOf(failed),
  body: JSON.stringify({ error: errorText(failed), code: failed.code, message: failed.message }),
});
