/**
 * The debug console's routes: its page and script (no key needed to load them; they hold no data)
 * and its live view's short-lived token (a key needed, as for any call).
 */
import { OPERATIONS } from '../operations';
import { ErrorCode, optionalParam, parseJson, projectIdSchema } from '../protocol';
import { consoleAssets } from './console-assets';
import { bodyText, HttpEvent, HttpResult } from './gateway-events';
import { keyed, respond, Route } from './http-kit';

/** A console file, gzipped for clients that accept it (every browser), as API Gateway passes it on. */
function consoleFile(event: HttpEvent, file: { plain: string; gzipped: string }, headers: Record<string, string>): HttpResult {
  const gzip = /\bgzip\b/.test(event.headers?.['accept-encoding'] ?? '');
  return gzip
    ? {
        statusCode: 200,
        headers: { ...headers, 'content-encoding': 'gzip', vary: 'accept-encoding' },
        body: file.gzipped,
        isBase64Encoded: true,
      }
    : { statusCode: 200, headers: { ...headers, vary: 'accept-encoding' }, body: file.plain };
}

/**
 * The console page, with a policy that lets it load only its own script and style and talk only
 * to this API and the WebSocket stage: no CDN, no other site, no framing.
 */
const consolePage: Route = (event, ops) => {
  const assets = consoleAssets();
  return Promise.resolve(
    consoleFile(event, assets.html, {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': `default-src 'none'; script-src 'self'; style-src 'sha256-${assets.styleHash}'; connect-src 'self' ${new URL(ops.services.webSocketUrl).origin}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'cache-control': 'no-store',
    }),
  );
};

const consoleScript: Route = (event) =>
  Promise.resolve(
    consoleFile(event, consoleAssets().js, {
      'content-type': 'text/javascript; charset=utf-8',
      'x-content-type-options': 'nosniff',
      'cache-control': 'no-store',
    }),
  );

/** `POST /console/token {projectId?}`: a token for the console's live view of a project the key may read. */
const consoleToken = keyed(async (caller, event, ops) => {
  const body = parseJson(bodyText(event) || '{}');
  const project = optionalParam(
    projectIdSchema,
    body.ok ? (body.value as { projectId?: unknown } | null)?.projectId : undefined,
    ErrorCode.invalidProject,
  );
  return respond(
    await ops.asBackend(caller, OPERATIONS.consoleToken, project.ok ? { ok: true, value: { projectId: project.value } } : project),
  );
});

export const CONSOLE_ROUTES = {
  'GET /console': consolePage,
  'GET /console/app.js': consoleScript,
  'POST /console/token': consoleToken,
} as const;
