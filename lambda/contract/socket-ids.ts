/**
 * Pusher socket ids look like `123.456` (Pusher's libraries refuse anything else), so each
 * connection has one, reversibly encoded from its API Gateway connection id: no lookup either way.
 * Sent to clients in `connected` and `connection_id`; Pusher auth signs it; the Pusher REST API's
 * `socket_id` names the connection to leave out.
 */

const LOW_BYTES = 6n;
const LOW_MASK = (1n << (8n * LOW_BYTES)) - 1n;

/** A connection id's Pusher socket id: `<length and first bytes>.<last bytes>`, both decimal. */
export function pusherSocketId(connectionId: string): string | undefined {
  const bytes = Buffer.from(connectionId, 'base64');
  if (bytes.length === 0 || bytes.length > 12 || bytes.toString('base64') !== connectionId) return undefined;
  const split = Math.max(0, bytes.length - Number(LOW_BYTES));
  const high = BigInt(`0x${bytes.subarray(0, split).toString('hex') || '0'}`);
  const low = BigInt(`0x${bytes.subarray(split).toString('hex') || '0'}`);
  // The length goes in front, so leading zero bytes survive the round trip.
  return `${(BigInt(bytes.length) << (8n * LOW_BYTES)) | high}.${low}`;
}

/** The connection id a Pusher socket id stands for; undefined if it is not one of ours. */
export function connectionIdOf(socketId: string): string | undefined {
  const match = /^(\d{1,16})\.(\d{1,16})$/.exec(socketId);
  if (!match) return undefined;
  const first = BigInt(match[1]);
  const low = BigInt(match[2]);
  const length = Number(first >> (8n * LOW_BYTES));
  const high = first & LOW_MASK;
  if (length < 1 || length > 12 || low > LOW_MASK) return undefined;
  const lowLength = Math.min(length, Number(LOW_BYTES));
  const hex = (value: bigint, size: number) => (size === 0 ? '' : value.toString(16).padStart(size * 2, '0'));
  const highHex = hex(high, length - lowLength);
  const lowHex = hex(low, lowLength);
  if (highHex.length !== (length - lowLength) * 2 || lowHex.length !== lowLength * 2) return undefined;
  const id = Buffer.from(highHex + lowHex, 'hex').toString('base64');
  return pusherSocketId(id) === socketId ? id : undefined;
}
