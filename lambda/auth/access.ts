/**
 * Who may do what: the callers an operation can have, and the rules operations declare. Every
 * rule decides from credentials only — a connection's token grants, stored when it connected, a
 * backend's key, a Pusher signature made with a project key — never from what a client claims, and
 * gives the project the call acts on.
 */
import { DEFAULT_PROJECT_ID, type ProjectSettings } from '../contract/limits';
import type { ConnectionRecord } from '../ports';
import { ErrorCode, Result, fail, ok } from '../protocol';
import { mayAccess, type Principal, resolveProject } from './principals';
import { channelAuthValid, pusherSocketId, userAuthValid } from './pusher';
import { matchesAny, type SigningKey } from './tokens';

/** Pusher's end-to-end encrypted channels: only backends publish on them. */
const ENCRYPTED_PREFIX = 'private-encrypted-';

/** Channels only a token can open: `private-…` and `presence-…`. */
export const RESTRICTED_PREFIXES = ['private-', 'presence-'] as const;

export const isRestricted = (channel: string): boolean => RESTRICTED_PREFIXES.some((prefix) => channel.startsWith(prefix));

/**
 * A project is open while anyone may connect and publish in it: a project without a key, like
 * `default`. There a client's `?type=admin` is trusted to get monitoring copies, as it always was;
 * elsewhere only a token's `monitor` claim grants them.
 */
export const isOpen = (settings: ProjectSettings): boolean => settings.anonymousConnect && settings.clientPublish === 'all';

/** Who is calling: a registered WebSocket connection (as stored), or a backend holding a key. */
export type Caller =
  { readonly kind: 'connection'; readonly connection: ConnectionRecord } | { readonly kind: 'backend'; readonly principal: Principal };

export type CallerKind = Caller['kind'];

/** What rules may consult: the project's settings (cached), its keys (Pusher channel auth), the time. */
export interface AccessContext {
  readonly settings: { of(projectId: string): Promise<ProjectSettings> };
  readonly signingKey: (keyPrefix: string) => Promise<SigningKey | undefined>;
  readonly now: () => number;
}

/** Clocks differ: a token a few seconds past its expiry is still good (as when it was verified). */
const EXPIRY_TOLERANCE_SECONDS = 30;

/** A connection whose token has expired keeps its public channels, and nothing its token granted. */
function tokenExpired(connection: Pick<ConnectionRecord, 'tokenExpiresAt'>, context: AccessContext): Result<never> | undefined {
  const expired = connection.tokenExpiresAt !== undefined && context.now() / 1000 > connection.tokenExpiresAt + EXPIRY_TOLERANCE_SECONDS;
  return expired ? fail(ErrorCode.tokenExpired) : undefined;
}

/**
 * A rule an operation declares. `gate` is the part that needs no input (the master key, a backend),
 * decided before the input is even read; `check` gives the project the call acts on, or the refusal.
 */
export interface AccessRule<I> {
  /** How the rule reads in docs and tests: `master`, `project`, `read channel`, … */
  readonly name: string;
  gate(caller: Caller): Result<void>;
  check(caller: Caller, input: I, context: AccessContext): Promise<Result<string>>;
}

const open = (): Result<void> => ok(undefined);
const rule = <I>(name: string, check: AccessRule<I>['check'], gate: AccessRule<I>['gate'] = open): AccessRule<I> => ({ name, gate, check });
/** A check that decides from the caller and input alone, with nothing to read. */
const decided =
  <I>(decide: (caller: Caller, input: I) => Result<string>): AccessRule<I>['check'] =>
  (caller, input) =>
    Promise.resolve(decide(caller, input));
const backendsOnly = (caller: Caller): Result<void> => (caller.kind === 'backend' ? ok(undefined) : fail(ErrorCode.unauthorized));
const masterOnly = (caller: Caller): Result<void> =>
  caller.kind === 'backend' && caller.principal.kind === 'master'
    ? ok(undefined)
    : fail(
        ErrorCode.unauthorized,
        caller.kind === 'backend'
          ? 'This needs the master key: a project key (rbk_…) publishes to and reads its own project, but cannot manage keys or change settings'
          : undefined,
      );

const notForConnections = fail<string>(ErrorCode.unauthorized);
const notForBackends = fail<string>(ErrorCode.invalidRequest, 'This is for WebSocket connections');

/** The project a backend acts on: the one it names, else its own (a project key) or `default` (the master key). */
const backendProject = (principal: Principal, requested: string | undefined) => resolveProject(principal, requested);

/** Public channels are open to every connection; restricted ones need a matching `channels` grant. */
export function maySubscribe(connection: Pick<ConnectionRecord, 'channelGrants' | 'userId'>, channel: string): Result<string> {
  if (!isRestricted(channel) || matchesAny(connection.channelGrants ?? [], channel)) return ok(channel);
  // A connection without a token has no grants at all: tell it how to get one, not how to edit one.
  if (connection.userId === undefined) {
    return fail(
      ErrorCode.subscriptionForbidden,
      `${channel} is a ${channel.startsWith('presence-') ? 'presence' : 'private'} channel: only a connection with a client token whose channels claim grants it may join. Your backend signs tokens with a project key (locally: npm run token); connect with ?token=<token>`,
    );
  }
  return fail(ErrorCode.subscriptionForbidden, `Your token does not grant ${channel}: add it (or a pattern) to its channels claim`);
}

/**
 * Whether a connection may publish to a channel, or with no channel (to one connection, or a
 * routed message between typed clients): by the project's `clientPublish`, and under `granted` by
 * the token's `publish` patterns — a message with no channel needs the pattern `*`. A `private-` or
 * `presence-` channel needs the same right as joining it as well (its token grants it, or it joined
 * with Pusher channel auth): a `publish` grant never reaches a channel the connection may not read.
 */
export function mayPublish(
  connection: Pick<ConnectionRecord, 'publishGrants' | 'channelGrants' | 'channels' | 'userId'>,
  settings: ProjectSettings,
  channel?: string,
): Result<void> {
  if (settings.clientPublish === 'none') {
    return fail(ErrorCode.publishForbidden, 'This project takes messages over HTTP only (clientPublish: none)');
  }
  if (channel !== undefined && isRestricted(channel) && !maySubscribe(connection, channel).ok && !connection.channels.includes(channel)) {
    return fail(
      ErrorCode.publishForbidden,
      `Publishing to ${channel} needs the right to join it: a token whose channels claim grants it, or joining it first with channel auth`,
    );
  }
  if (settings.clientPublish === 'all') return ok(undefined);
  const grants = connection.publishGrants ?? [];
  if (channel !== undefined ? matchesAny(grants, channel) : grants.includes('*')) return ok(undefined);
  return fail(
    ErrorCode.publishForbidden,
    channel !== undefined
      ? `Your token does not grant publishing to ${channel}: add it (or a pattern) to its publish claim`
      : 'Messages without a channel need a token whose publish claim holds "*"',
  );
}

/** What a channel read carries that may stand in for a token grant: Pusher's channel auth. */
export interface PusherChannelAuth {
  readonly channel: string;
  readonly auth?: string;
  readonly channel_data?: string;
}

/** Pusher auth counts only on a restricted channel, and only then is its `channel_data` trusted. */
export const viaPusherAuth = (input: PusherChannelAuth): boolean => isRestricted(input.channel) && input.auth !== undefined;

/** A restricted channel joined with Pusher's `auth`: signed for this socket and channel (and channel data) by a key of the connection's project. */
async function pusherAuthorized(connection: ConnectionRecord, input: PusherChannelAuth, context: AccessContext): Promise<Result<string>> {
  const socketId = pusherSocketId(connection.connectionId);
  const valid =
    socketId !== undefined &&
    (await channelAuthValid(input.auth!, socketId, input.channel, input.channel_data, context.signingKey, connection.projectId));
  return valid
    ? ok(connection.projectId)
    : fail(
        ErrorCode.subscriptionForbidden,
        `Invalid auth for ${input.channel}: sign socket_id:channel${input.channel_data === undefined ? '' : ':channel_data'} with a key of this project`,
      );
}

/** The rules operations declare. */
export const ACCESS = {
  /** Anyone: no credentials (the health check, the console's files). */
  anyone: rule<unknown>(
    'anyone',
    decided(() => ok(DEFAULT_PROJECT_ID)),
  ),

  /** Any registered connection, on its own project. */
  connection: rule<unknown>(
    'connection',
    decided((caller) => (caller.kind === 'connection' ? ok(caller.connection.projectId) : notForBackends)),
  ),

  /** Any backend key; its own project (`default` for the master key). The operation checks what it reads. */
  backend: rule<unknown>(
    'backend',
    decided((caller) => (caller.kind === 'backend' ? backendProject(caller.principal, undefined) : notForConnections)),
    backendsOnly,
  ),

  /** The master key; the project the input names (or `default`). */
  master: <I>(projectOf: (input: I) => string | undefined = () => undefined) =>
    rule<I>(
      'master',
      decided((caller, input) => {
        const gated = masterOnly(caller);
        return gated.ok ? ok(projectOf(input) ?? DEFAULT_PROJECT_ID) : gated;
      }),
      masterOnly,
    ),

  /** A backend key for the project the input names: the master key, or that project's key. */
  project: <I>(projectOf: (input: I) => string | undefined) =>
    rule<I>(
      'project',
      decided((caller, input) => (caller.kind === 'backend' ? backendProject(caller.principal, projectOf(input)) : notForConnections)),
      backendsOnly,
    ),

  /**
   * Reading a channel (subscribing, its history, members, retained message): a backend of the
   * project; a connection, on its own project, where the channel is public or its token grants it
   * (or Pusher channel auth signed by a project key does).
   */
  readChannel: <I extends { channel: string }>(projectOf: (input: I) => string | undefined = () => undefined) =>
    rule<I>('read channel', async (caller, input, context) => {
      if (caller.kind === 'backend') return backendProject(caller.principal, projectOf(input));
      const { connection } = caller;
      // The server's own channels (`$monitor`, `$type:…`): every codec's schema refuses them; so does this.
      if (input.channel.startsWith('$'))
        return fail(ErrorCode.subscriptionForbidden, `${input.channel.slice(0, 64)} is the server's own channel`);
      if (isRestricted(input.channel)) {
        const expired = tokenExpired(connection, context);
        if (expired) return expired;
      }
      if (viaPusherAuth(input)) return pusherAuthorized(connection, input, context);
      // A channel it has joined (its token's grant, or Pusher auth, let it in then) it may read.
      if (connection.channels.includes(input.channel)) return ok(connection.projectId);
      const allowed = maySubscribe(connection, input.channel);
      return allowed.ok ? ok(connection.projectId) : allowed;
    }),

  /**
   * Pusher's user sign-in: a Pusher connection, with `auth` over its socket id and the `user_data`
   * as given, signed by a current key of its project (your backend's user authentication endpoint).
   */
  signin: rule<{ readonly auth: string; readonly user_data: string }>('signin', async (caller, input, context) => {
    if (caller.kind !== 'connection') return notForBackends;
    const { connection } = caller;
    if (connection.protocol !== 'pusher')
      return fail(ErrorCode.invalidRequest, 'Sign-in is pusher-js’s: connect with a client token instead');
    const socketId = pusherSocketId(connection.connectionId);
    const valid =
      socketId !== undefined && (await userAuthValid(input.auth, socketId, input.user_data, context.signingKey, connection.projectId));
    return valid
      ? ok(connection.projectId)
      : fail(ErrorCode.unauthorized, 'Invalid user auth: sign socket_id::user::user_data with a key of this project');
  }),

  /**
   * A Pusher client event (`client-*`): only from a connection, only where its project turned them
   * on, only on a private or presence channel, and only one it has joined — so it reaches only those
   * the channel's own auth let in.
   */
  clientEvent: rule<{ readonly channel: string }>('client event', async (caller, input, context) => {
    if (caller.kind !== 'connection') return notForBackends;
    const { connection } = caller;
    const expired = tokenExpired(connection, context);
    if (expired) return expired;
    if (!(await context.settings.of(connection.projectId)).clientEvents) {
      return fail(
        ErrorCode.publishForbidden,
        'Client events are off in this project: the master key turns them on with {"clientEvents": true}',
      );
    }
    if (!isRestricted(input.channel))
      return fail(ErrorCode.publishForbidden, 'Client events may be sent on private and presence channels only');
    // As Pusher: an encrypted channel's events are your backend's, end to end.
    if (input.channel.startsWith(ENCRYPTED_PREFIX))
      return fail(ErrorCode.publishForbidden, 'Client events cannot be sent on private-encrypted- channels');
    if (!connection.channels.includes(input.channel)) {
      return fail(ErrorCode.publishForbidden, `Subscribe to ${input.channel} before sending client events on it`);
    }
    return ok(connection.projectId);
  }),

  /**
   * Publishing to a channel (or, without one, to a connection or as a routed message): a backend of
   * the project; a connection, on its own project, as its `clientPublish` setting and token allow.
   */
  publish: <I>(target: (input: I) => { readonly projectId?: string; readonly channel?: string }) =>
    rule<I>('publish', async (caller, input, context) => {
      const { projectId, channel } = target(input);
      if (caller.kind === 'backend') return backendProject(caller.principal, projectId);
      const { connection } = caller;
      // pusher-js has no publish: a Pusher connection sends client events, which have rules of their own.
      if (connection.protocol === 'pusher') {
        return fail(ErrorCode.publishForbidden, 'A Pusher connection sends client events (client-…) on channels it joined, not messages');
      }
      const expired = tokenExpired(connection, context);
      if (expired) return expired;
      const allowed = mayPublish(connection, await context.settings.of(connection.projectId), channel);
      return allowed.ok ? ok(connection.projectId) : allowed;
    }),
} as const;

export { mayAccess };
