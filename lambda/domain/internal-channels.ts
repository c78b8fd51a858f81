/**
 * Reserved channels (names start with `$`, which clients cannot subscribe to) that every
 * connection joins on connect according to its type. Routed messages and system messages fan out
 * over them, through the same subscription store and fan-out as user channels.
 */

export const INTERNAL = {
  /** Every connection of the project. */
  all: '$all',
  /** Every connection that gave a `?type=`. */
  typed: '$typed',
  /** Every connection of one type. */
  type: (clientType: string) => `$type:${clientType}`,
} as const;

/** Connections of this type get a copy of every message that has a `to`. */
export const MONITOR_TYPE = 'admin';

export function internalChannelsFor(clientType: string | undefined): string[] {
  return clientType ? [INTERNAL.all, INTERNAL.typed, INTERNAL.type(clientType)] : [INTERNAL.all];
}

export const isInternal = (channel: string): boolean => channel.startsWith('$');
