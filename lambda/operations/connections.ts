/**
 * A connection's life: who may open one (decided by credentials only), what is stored when it
 * opens, and what follows when it goes.
 */
import { isOpen } from '../auth/access';
import type { ClientGrant } from '../auth/tokens';
import { closedBy } from '../domain/continuity';
import { MONITOR_TYPE } from '../domain/internal-channels';
import { API_KEY_PREFIX } from '../auth/api-keys';
import { API_KEY_PREFIX_LENGTH, DEFAULT_PROJECT_ID } from '../contract/limits';
import { ErrorCode, fail, Failure, ok, projectIdSchema, pusherCodeOf, Result } from '../protocol';
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
  /** Pusher's protocol, through the Pusher endpoint: the connection's frames and deliveries are Pusher's. */
  readonly protocol?: 'pusher';
  /** Pusher's app key (public, as on Pusher): a project key's prefix, or the id of a project that has no keys. */
  readonly appKey?: string;
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
  let appProject: string | undefined;
  if (request.appKey !== undefined) {
    const found = await projectOfAppKey(request.appKey, services);
    if (!found.ok) return found;
    appProject = found.value;
  }
  const projectId = grant?.projectId ?? appProject ?? request.projectId ?? DEFAULT_PROJECT_ID;
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
    ...(request.protocol === 'pusher' && { protocol: 'pusher' as const }),
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
  await services.presence.scheduleWelcome({
    task: 'welcome',
    connectionId,
    projectId,
    clientType,
    clientCount: counted?.live ?? 1,
    ...(request.protocol === 'pusher' && { protocol: 'pusher' as const }),
  });
  return ok({ projectId });
}

/**
 * The project a Pusher app key names: a project key's prefix (the key must be current), or the id
 * of a project that has no keys (`default`, say), which any client may name as it may `?projectId=`.
 */
async function projectOfAppKey(appKey: string, services: Services): Promise<Result<string>> {
  const unknown = () =>
    fail<string>(ErrorCode.invalidProject, `Unknown app key ${JSON.stringify(appKey.slice(0, 64))}: use a project key's prefix (rbk_…)`);
  if (appKey.startsWith(API_KEY_PREFIX)) {
    if (appKey.length > API_KEY_PREFIX_LENGTH) {
      // Never looked up: a whole key in a client is a leaked key.
      return fail(
        ErrorCode.invalidProject,
        `That app key is a whole project key, which must never reach a client: the app key is its first ${API_KEY_PREFIX_LENGTH} characters. Revoke this key and make another.`,
      );
    }
    const project = await services.apiKeys.projectOfPrefix(appKey);
    return project !== undefined ? ok(project) : unknown();
  }
  if (!projectIdSchema.safeParse(appKey).success) return unknown();
  // A keyed project is named by its keys' prefixes only: its id alone is no app key.
  return (await services.apiKeys.hasKeys(appKey)) ? unknown() : ok(appKey);
}

/**
 * A Pusher connection refused: API Gateway must open it all the same, since only a message on an
 * open connection reaches pusher-js's error handler (a refused handshake looks like a network
 * failure, retried for ever). So nothing is stored, and a background task posts `pusher:error` with
 * the code that tells pusher-js whether to come back, then closes it.
 */
export async function refusePusher(
  connectionId: string,
  failed: Failure,
  services: Services,
  code = pusherCodeOf(failed),
): Promise<boolean> {
  return services.presence.scheduleWelcome({
    task: 'welcome',
    connectionId,
    projectId: DEFAULT_PROJECT_ID,
    clientCount: 0,
    protocol: 'pusher',
    refusal: { code, message: failed.message },
  });
}

/** How API Gateway's `$disconnect` says a connection closed: its close code and when (epoch ms). */
export interface CloseReport {
  readonly code?: number;
  readonly at: number;
}

/** A connection went (`$disconnect`): removed with its subscriptions, and its departure announced. Idempotent. */
export async function disconnect(connectionId: string, services: Services, close?: CloseReport): Promise<void> {
  await services.membership.disconnect(connectionId, close && closedBy(close.code, close.at));
}
