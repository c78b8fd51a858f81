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
  /** Connections that get a copy of every routed message that has a `to`. */
  monitor: '$monitor',
} as const;

/** The type whose connections monitor in an open project (`?type=admin`, as in seed 003). */
export const MONITOR_TYPE = 'admin';

export function internalChannelsFor(connection: { readonly clientType?: string; readonly monitor?: boolean }): string[] {
  const { clientType, monitor } = connection;
  return [INTERNAL.all, ...(clientType ? [INTERNAL.typed, INTERNAL.type(clientType)] : []), ...(monitor ? [INTERNAL.monitor] : [])];
}

export const isInternal = (channel: string): boolean => channel.startsWith('$');
