/**
 * Pusher's credentials, so Pusher backends work unchanged: app id = project id, app key = a
 * project key's prefix, app secret = the project key. Requests to the REST API are signed the
 * Pusher way (`auth_signature` = HMAC-SHA256 of `METHOD\npath\nsorted query` with the secret,
 * `auth_timestamp` within 600 s, `body_md5`); channel subscriptions may carry Pusher's `auth`
 * (`key:HMAC(secret, socket_id:channel[:channel_data])`).
 */
import { createHash, createHmac } from 'node:crypto';
import type { SigningKey } from './tokens';
import { secretsEqual } from './secrets';
import { ErrorCode, Result, fail, ok } from '../protocol';

export { connectionIdOf, pusherSocketId } from '../contract/socket-ids';

export const PUSHER_TIMESTAMP_WINDOW_SECONDS = 600;

const sign = (secret: string, text: string) => createHmac('sha256', secret).update(text, 'utf8').digest('hex');

export interface PusherRequest {
  readonly method: string;
  /** The request path as signed (`/apps/acme/events`). */
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly body: string;
}

/** Checks a Pusher-signed REST request; the key that signed it, or `unauthorized` with Pusher's reason. */
export async function verifyPusherRequest(
  request: PusherRequest,
  keyFor: (keyPrefix: string) => Promise<SigningKey | undefined>,
  nowSeconds: number,
): Promise<Result<SigningKey>> {
  const {
    auth_key: keyPrefix,
    auth_timestamp: timestamp,
    auth_version: version,
    auth_signature: signature,
    body_md5: bodyMd5,
  } = request.query;
  const refuse = (message: string) => fail<SigningKey>(ErrorCode.unauthorized, message);
  if (!keyPrefix || !timestamp || !signature) return refuse('Missing auth_key, auth_timestamp or auth_signature');
  if (version !== '1.0') return refuse('auth_version must be 1.0');
  if (!/^\d{1,12}$/.test(timestamp) || Math.abs(nowSeconds - Number(timestamp)) > PUSHER_TIMESTAMP_WINDOW_SECONDS) {
    return refuse(
      `Timestamp expired: Given timestamp (${timestamp.slice(0, 20)}) not within ${PUSHER_TIMESTAMP_WINDOW_SECONDS}s of server time (${nowSeconds})`,
    );
  }
  if (request.body.length > 0) {
    const md5 = createHash('md5').update(request.body, 'utf8').digest('hex');
    if (!bodyMd5 || !secretsEqual(bodyMd5, md5)) return refuse('Invalid body_md5');
  }
  const key = await keyFor(keyPrefix);
  if (!key) return refuse('Unknown auth_key');
  const query = Object.entries(request.query)
    .filter(([name]) => name !== 'auth_signature')
    .map(([name, value]) => [name.toLowerCase(), value])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
  const expected = sign(key.apiKey, `${request.method.toUpperCase()}\n${request.path}\n${query}`);
  if (!secretsEqual(signature, expected))
    return refuse('Invalid signature: you should have sent HmacSHA256Hex(secret, METHOD\\npath\\nsorted query)');
  return ok(key);
}

/** Whether a subscription's Pusher `auth` was signed for this socket, channel and channel data by the key it names. */
/**
 * Pusher's user authentication: `auth` is `<key prefix>:<hex HMAC-SHA256 of "socket_id::user::user_data">`
 * made with a current key of the project (the `pusher` SDK's `authenticateUser`).
 */
export async function userAuthValid(
  auth: string,
  socketId: string,
  userData: string,
  keyFor: (keyPrefix: string) => Promise<SigningKey | undefined>,
  projectId: string,
): Promise<string | undefined> {
  const colon = auth.indexOf(':');
  if (colon <= 0) return undefined;
  const keyPrefix = auth.slice(0, colon);
  const key = await keyFor(keyPrefix);
  if (!key || key.projectId !== projectId) return undefined;
  return secretsEqual(auth.slice(colon + 1), sign(key.apiKey, `${socketId}::user::${userData}`)) ? keyPrefix : undefined;
}

export async function channelAuthValid(
  auth: string,
  socketId: string,
  channel: string,
  channelData: string | undefined,
  keyFor: (keyPrefix: string) => Promise<SigningKey | undefined>,
  projectId: string,
): Promise<boolean> {
  const colon = auth.indexOf(':');
  if (colon <= 0) return false;
  const key = await keyFor(auth.slice(0, colon));
  if (!key || key.projectId !== projectId) return false;
  const expected = sign(key.apiKey, [socketId, channel, ...(channelData !== undefined ? [channelData] : [])].join(':'));
  return secretsEqual(auth.slice(colon + 1), expected);
}
