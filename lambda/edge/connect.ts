/**
 * `$connect`'s codec: what a WebSocket handshake offers (query string, subprotocols, headers) read
 * into a connect call. A non-2xx answer refuses the upgrade; the client sees its status and body.
 */
import {
  ErrorCode,
  Failure,
  PUSHER_CODE,
  PUSHER_PROTOCOL,
  clientTypeSchema,
  connectRefusal,
  failure,
  optionalParam,
  projectIdSchema,
} from '../protocol';
import type { Operations } from '../operations';
import { noteFailure } from '../telemetry';
import type { WebSocketEvent, WebSocketResult } from './gateway-events';

/** The subprotocol a client speaking ours offers; `$connect` echoes it, as browsers require. */
export const SUBPROTOCOL = 'rb.v1';
/** A token offered as a subprotocol, where browsers can put it (they cannot set headers). */
const TOKEN_SUBPROTOCOL = 'rb.token.';

const refuse = (failed: Failure): WebSocketResult => {
  noteFailure(failed.code);
  return connectRefusal(failed);
};

/** Header names keep the client's case on `$connect`. */
const header = (event: WebSocketEvent, name: string): string | undefined =>
  Object.entries(event.headers ?? {}).find(([key]) => key.toLowerCase() === name)?.[1];

/** The subprotocols a client offered: `rb.v1` and perhaps a token. */
function offeredProtocols(event: WebSocketEvent): { speaksOurs: boolean; offered: boolean; token?: string } {
  const offered = (header(event, 'sec-websocket-protocol') ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  const token = offered.find((p) => p.startsWith(TOKEN_SUBPROTOCOL))?.slice(TOKEN_SUBPROTOCOL.length);
  return { speaksOurs: offered.includes(SUBPROTOCOL), offered: offered.length > 0, ...(token !== undefined && { token }) };
}

/**
 * Reads the handshake: `?projectId=`, `?type=`, a token (`?token=` or the `rb.token.<jwt>`
 * subprotocol). A project key or the master key is never a way to connect: those belong on servers.
 */
export async function connectRoute(event: WebSocketEvent, ops: Operations): Promise<WebSocketResult> {
  const { connectionId, connectedAt, identity } = event.requestContext;
  const query = event.queryStringParameters ?? {};
  if (query.appKey !== undefined) return pusherConnect(event, ops);
  const project = optionalParam(projectIdSchema, query.projectId, ErrorCode.invalidProject);
  if (!project.ok) return refuse(project.error);
  const type = optionalParam(clientTypeSchema, query.type, ErrorCode.invalidRequest);
  if (!type.ok) return refuse(type.error);
  const protocols = offeredProtocols(event);
  if (protocols.offered && !protocols.speaksOurs) {
    return refuse(failure(ErrorCode.invalidRequest, `Offer the ${SUBPROTOCOL} subprotocol (with rb.token.<jwt>), or none`));
  }
  if (query.apiKey !== undefined || header(event, 'x-api-key') !== undefined) {
    return refuse(
      failure(ErrorCode.unauthorized, 'Keys are for servers and are not accepted here: connect with a client token signed by your backend'),
    );
  }
  const connected = await ops.connect({
    connectionId,
    connectedAt,
    projectId: project.value,
    clientType: type.value,
    token: protocols.token ?? query.token,
    sourceIp: identity?.sourceIp,
    userAgent: identity?.userAgent,
  });
  if (!connected.ok) return refuse(connected.error);
  return protocols.speaksOurs ? { statusCode: 200, headers: { 'Sec-WebSocket-Protocol': SUBPROTOCOL } } : { statusCode: 200 };
}

/**
 * A pusher-js handshake, rewritten by the Pusher endpoint (`/app/{key}` → the stage, with `appKey`
 * and `protocol` in the query). A refusal is told the Pusher way once the connection is open —
 * `pusher:error` with a code pusher-js acts on — since a refused handshake looks to pusher-js like a
 * network failure, which it retries for ever.
 */
async function pusherConnect(event: WebSocketEvent, ops: Operations): Promise<WebSocketResult> {
  const { connectionId, connectedAt, identity } = event.requestContext;
  const query = event.queryStringParameters ?? {};
  const refused = async (failed: Failure, code?: number): Promise<WebSocketResult> => {
    // Opened only to be told: if the telling cannot be started, the handshake is refused instead.
    if (await ops.refusePusher(connectionId, failed, code)) {
      noteFailure(failed.code);
      return { statusCode: 200 };
    }
    return refuse(failed);
  };
  if (query.protocol === undefined) {
    return refused(failure(ErrorCode.invalidRequest, 'No protocol version supplied: connect with ?protocol=7'), PUSHER_CODE.noProtocol);
  }
  if (query.protocol !== PUSHER_PROTOCOL) {
    const message = `Unsupported protocol version ${query.protocol.slice(0, 16)}: this server speaks ${PUSHER_PROTOCOL}`;
    return refused(failure(ErrorCode.invalidRequest, message), PUSHER_CODE.unsupportedProtocol);
  }
  const connected = await ops.connect({
    connectionId,
    connectedAt,
    appKey: query.appKey,
    protocol: 'pusher',
    clientType: undefined,
    sourceIp: identity?.sourceIp,
    userAgent: identity?.userAgent,
  });
  if (connected.ok) return { statusCode: 200 };
  // Our refusal names our ways in (a token); pusher-js has none, so say what lets it in.
  const failed =
    connected.error.code === ErrorCode.tokenRequired
      ? failure(
          ErrorCode.tokenRequired,
          'This project takes no connections without a client token, and pusher-js has none: the project’s master key can let them in with {"anonymousConnect": true} in its settings (unless the deployment sets requireToken)',
        )
      : connected.error;
  return refused(failed);
}
