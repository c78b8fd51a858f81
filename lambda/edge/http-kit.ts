/**
 * What every native HTTP route shares: the bearer key read into a checked caller, and answers in
 * the seed's shapes (`{success, data}`, `{success:false, error, code, errors}`).
 */
import type { Backend, Operations } from '../operations';
import { ErrorCode, Failure, failure, httpData, httpError, Result } from '../protocol';
import { noteFailure } from '../telemetry';
import type { HttpEvent, HttpResult } from './gateway-events';

export type Route = (event: HttpEvent, ops: Operations) => Promise<HttpResult>;

export const errorResponse = (failed: Failure): HttpResult => {
  noteFailure(failed.code);
  return httpError(failed);
};

export const respond = <T>(result: Result<T>, status = 200): HttpResult =>
  result.ok ? httpData(result.value, status) : errorResponse(result.error);

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}

/**
 * What is wrong with a request's key header, said so a newcomer can fix it (always `unauthorized`,
 * and never which keys exist), or undefined when it is `Authorization: Bearer <something>`.
 */
function badKeyHeader(headers: HttpEvent['headers']): Failure | undefined {
  const authorization = headers?.authorization;
  if (authorization === undefined || authorization.trim() === '') {
    return failure(
      ErrorCode.unauthorized,
      headers?.['x-api-key'] !== undefined
        ? 'The x-api-key header is not read here: send the key as Authorization: Bearer <key>'
        : 'No key: send the master key or a project key (rbk_…) as Authorization: Bearer <key>',
    );
  }
  if (bearerToken(authorization) === undefined) {
    return failure(
      ErrorCode.unauthorized,
      'Malformed Authorization header: it must be Authorization: Bearer <key> (the word Bearer, a space, then the key)',
    );
  }
  return undefined;
}

/** A route for a backend with a valid key. */
export const keyed =
  (route: (caller: Backend, event: HttpEvent, ops: Operations) => Promise<HttpResult>): Route =>
  async (event, ops) => {
    const malformed = badKeyHeader(event.headers);
    if (malformed) return errorResponse(malformed);
    const caller = await ops.bearer(bearerToken(event.headers?.authorization));
    return caller.ok ? route(caller.value, event, ops) : errorResponse(caller.error);
  };
