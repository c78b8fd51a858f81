/**
 * A connection's life: who may open one (decided by credentials only), what is stored when it
 * opens, and what follows when it goes.
 */
import { isOpen } from '../auth/access';
import type { ClientGrant } from '../auth/tokens';
import { DEFAULT_PROJECT_ID } from '../contract/limits';
import { MONITOR_TYPE } from '../domain/internal-channels';
import { ErrorCode, fail, ok, Result } from '../protocol';
import type { Services } from './services';

/** A `$connect`, as its codec read it. */
export interface ConnectRequest {
  readonly connectionId: string;
  /** Epoch milliseconds, from API Gateway. */
  readonly connectedAt: number;
  /** `?projectId=`, for anonymous connections to an open project (a token names its own). */
  readonly projectId?: string;
  /** `?type=`: `runtime`, `admin`, … */
  readonly clientType?: string;
  /** A client token (`?token=` or the `rb.token.<jwt>` subprotocol). */
  readonly token?: string;
  readonly sourceIp?: string;
  readonly userAgent?: string;
}

/**
 * Who is connecting, decided only by credentials: a client token signed by a current key of the
 * project, or nothing — accepted only where the project takes anonymous connections and the
 * deployment does not require tokens.
 */
export async function connect(request: ConnectRequest, services: Services): Promise<Result<{ projectId: string }>> {
  const { connectionId, connectedAt, token } = request;
  let grant: ClientGrant | undefined;
  if (token !== undefined) {
    const verified = await services.authorizer.verifyToken(token);
    if (!verified.ok) return verified;
    grant = verified.value;
    if (request.projectId !== undefined && request.projectId !== grant.projectId) {
      return fail(ErrorCode.invalidToken, `Invalid token: it is for another project than ${request.projectId}`);
    }
  }
  const projectId = grant?.projectId ?? request.projectId ?? DEFAULT_PROJECT_ID;
  services.telemetry.annotate({ projectId });
  // Read fresh, not through the 30-second cache: a project just closed to anonymous clients (and
  // whose anonymous connections were just closed) takes no new ones from any handler instance.
  const { settings } = await services.settings.read(projectId);
  if (!grant && (services.requireToken || !settings.anonymousConnect)) return fail(ErrorCode.tokenRequired);

  const { clientType } = request;
  // Monitoring copies are granted by a token, or by the label only where everything is open anyway.
  const monitor = grant ? grant.monitor : clientType === MONITOR_TYPE && isOpen(settings);
  const connection = {
    connectionId,
    projectId,
    connectedAt,
    clientType,
    sourceIp: request.sourceIp,
    userAgent: request.userAgent,
    rateLimit: settings.rateLimit,
    monitor,
    ...(grant && {
      userId: grant.userId,
      keyPrefix: grant.keyPrefix,
      channelGrants: grant.channels,
      publishGrants: grant.publish,
      tokenExpiresAt: grant.expiresAt,
      userRateLimit: settings.userRateLimit,
      ...(grant.observe && { observer: true }),
      ...(grant.info && { info: grant.info }),
    }),
  };
  // A user holds at most the project's number of connections: counted before the connection is stored.
  if (!(await services.users.admit(connection, settings.maxConnectionsPerUser))) return fail(ErrorCode.tooManyConnections);
  try {
    await services.membership.connect(connection);
  } catch (error) {
    // Refused after all ($connect answers 5xx): the user's count does not keep it.
    await services.users.left(connection).catch(() => undefined);
    throw error;
  }
  const counted = await services.projects.record(projectId, { connections: 1, live: 1, liveSince: connectedAt });
  await services.presence.scheduleWelcome({ task: 'welcome', connectionId, projectId, clientType, clientCount: counted?.live ?? 1 });
  return ok({ projectId });
}

/** A connection went (`$disconnect`): removed with its subscriptions, and its departure announced. Idempotent. */
export async function disconnect(connectionId: string, services: Services): Promise<void> {
  await services.membership.disconnect(connectionId);
}
