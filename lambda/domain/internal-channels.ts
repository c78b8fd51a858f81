/**
 * Reserved channels (names start with `$`, which clients cannot subscribe to) that every
 * connection joins on connect according to its type. Routed messages and system messages fan out
 * over them, through the same subscription store and fan-out as user channels.
 */
import { USER_CHANNEL_PREFIX } from '../protocol';

export const INTERNAL = {
  /** Every connection of the project. */
  all: '$all',
  /** Every connection that gave a `?type=`. */
  typed: '$typed',
  /** Every connection of one type. */
  type: (clientType: string) => `$type:${clientType}`,
  /** Connections that get a copy of every routed message that has a `to`. */
  monitor: '$monitor',
  /** A signed-in Pusher user's connections (Pusher's `#server-to-user-{id}`). */
  user: (userId: string) => `${USER_CHANNEL_PREFIX}${userId}`,
} as const;

/** The type whose connections monitor in an open project (`?type=admin`, as in seed 003). */
export const MONITOR_TYPE = 'admin';

export function internalChannelsFor(connection: {
  readonly clientType?: string;
  readonly monitor?: boolean;
  readonly signedIn?: string;
}): string[] {
  const { clientType, monitor, signedIn } = connection;
  return [
    INTERNAL.all,
    ...(clientType ? [INTERNAL.typed, INTERNAL.type(clientType)] : []),
    ...(monitor ? [INTERNAL.monitor] : []),
    ...(signedIn !== undefined ? [INTERNAL.user(signedIn)] : []),
  ];
}

export const isInternal = (channel: string): boolean => channel.startsWith('$');
