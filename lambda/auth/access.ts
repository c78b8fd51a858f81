/**
 * Who may join and publish where: the rules a connection's token and its project's settings make.
 * Pure functions over what was stored when the connection was made, so the hot path reads nothing.
 */
import type { ProjectSettings } from '../contract/limits';
import { matchesAny } from './tokens';
import type { ConnectionRecord } from '../ports';
import { ErrorCode, Result, fail, ok } from '../protocol';

/** Channels only a token can open: `private-…` and `presence-…`. */
export const RESTRICTED_PREFIXES = ['private-', 'presence-'] as const;

export const isRestricted = (channel: string): boolean => RESTRICTED_PREFIXES.some((prefix) => channel.startsWith(prefix));

/**
 * A project is open while anyone may connect and publish in it: a project without a key, like
 * `default`. There a client's `?type=admin` is trusted to get monitoring copies, as it always was;
 * elsewhere only a token's `monitor` claim grants them.
 */
export const isOpen = (settings: ProjectSettings): boolean => settings.anonymousConnect && settings.clientPublish === 'all';

/** Public channels are open to every connection; restricted ones need a matching `channels` grant. */
export function maySubscribe(connection: Pick<ConnectionRecord, 'channelGrants'>, channel: string): Result<string> {
  if (!isRestricted(channel) || matchesAny(connection.channelGrants ?? [], channel)) return ok(channel);
  return fail(ErrorCode.subscriptionForbidden, `Your token does not grant ${channel}: add it (or a pattern) to its channels claim`);
}

/**
 * Whether a connection may publish to a channel, or with no channel (to one connection, or a
 * routed message between typed clients): by the project's `clientPublish`, and under `granted` by
 * the token's `publish` patterns — a message with no channel needs the pattern `*`.
 */
export function mayPublish(connection: Pick<ConnectionRecord, 'publishGrants'>, settings: ProjectSettings, channel?: string): Result<void> {
  if (settings.clientPublish === 'all') return ok(undefined);
  if (settings.clientPublish === 'none') {
    return fail(ErrorCode.publishForbidden, 'This project takes messages over HTTP only (clientPublish: none)');
  }
  const grants = connection.publishGrants ?? [];
  if (channel !== undefined ? matchesAny(grants, channel) : grants.includes('*')) return ok(undefined);
  return fail(
    ErrorCode.publishForbidden,
    channel !== undefined
      ? `Your token does not grant publishing to ${channel}: add it (or a pattern) to its publish claim`
      : 'Messages without a channel need a token whose publish claim holds "*"',
  );
}
