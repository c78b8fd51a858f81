/**
 * Every error the product answers with, once: its stable code, its HTTP status, whether trying
 * again later can help, the metric it is counted under and its default message. Codecs, metrics
 * and the docs' error table (docs/protocol.md) all read this table.
 */
import { METRIC, MetricName } from '../contract/metrics';

export interface ErrorSpec {
  /** The stable code. Clients may switch on it; messages are for people and may change. */
  readonly code: string;
  /** The status on the HTTP API (WebSocket errors are messages on the open connection). */
  readonly status: number;
  /** The same request may succeed later (after a backoff) without changing anything. */
  readonly temporary: boolean;
  /** The metric a request that fails with it is counted under, if any. */
  readonly metric?: MetricName;
  /** What is said when nothing more specific is. */
  readonly message: string;
}

const invalidInput = METRIC.invalidInputs;
const refused = METRIC.unauthorized;

/** Every error the product answers with. */
export const ERRORS = {
  invalidJson: { code: 'invalid_json', status: 400, temporary: false, metric: invalidInput, message: 'Not valid JSON' },
  unknownAction: { code: 'unknown_action', status: 400, temporary: false, metric: invalidInput, message: 'Unknown action' },
  invalidMessage: {
    code: 'invalid_message',
    status: 400,
    temporary: false,
    metric: invalidInput,
    message: 'Message must be a JSON object',
  },
  invalidChannel: { code: 'invalid_channel', status: 400, temporary: false, metric: invalidInput, message: 'Invalid channel name' },
  reservedChannel: {
    code: 'reserved_channel',
    status: 400,
    temporary: false,
    metric: invalidInput,
    message: 'Channel names starting with $ are reserved',
  },
  reservedType: {
    code: 'reserved_type',
    status: 400,
    temporary: false,
    metric: invalidInput,
    message: 'This type or event is one the server sends; clients may not send it',
  },
  invalidProject: { code: 'invalid_project', status: 400, temporary: false, metric: invalidInput, message: 'Invalid projectId' },
  invalidRequest: { code: 'invalid_request', status: 400, temporary: false, metric: invalidInput, message: 'Invalid request' },
  tooManyMessages: {
    code: 'too_many_messages',
    status: 400,
    temporary: false,
    metric: invalidInput,
    message: 'Too many messages in one batch',
  },
  payloadTooLarge: { code: 'payload_too_large', status: 413, temporary: false, metric: invalidInput, message: 'Message too large' },
  projectNotFound: { code: 'project_not_found', status: 404, temporary: false, message: 'No such project' },
  keyExists: { code: 'key_exists', status: 409, temporary: false, message: 'The project already holds two keys; revoke one first' },
  keyNotFound: { code: 'key_not_found', status: 404, temporary: false, message: 'No such key in this project' },
  invalidToken: { code: 'invalid_token', status: 401, temporary: false, metric: refused, message: 'Invalid token' },
  tokenExpired: {
    code: 'token_expired',
    status: 401,
    temporary: false,
    metric: refused,
    message: 'This connection’s token has expired: get a fresh one from your backend and reconnect with it',
  },
  identityRequired: { code: 'identity_required', status: 403, temporary: false, message: 'This needs a user: connect with a client token' },
  publishNotFound: { code: 'publish_not_found', status: 404, temporary: false, message: 'No such publish (they are kept for two hours)' },
  connectionNotFound: { code: 'connection_not_found', status: 404, temporary: false, message: 'No such connection in this project' },
  notConnected: { code: 'not_connected', status: 409, temporary: false, message: 'This connection is not registered; reconnect' },
  tooManySubscriptions: {
    code: 'too_many_subscriptions',
    status: 409,
    temporary: false,
    message: 'Too many subscriptions on this connection',
  },
  tooManyConnections: {
    code: 'too_many_connections',
    status: 429,
    temporary: true,
    message: 'This user already holds as many connections as its project allows (maxConnectionsPerUser): close one, then connect',
  },
  unauthorized: { code: 'unauthorized', status: 401, temporary: false, metric: refused, message: 'Unauthorized' },
  tokenRequired: {
    code: 'token_required',
    status: 401,
    temporary: false,
    metric: refused,
    message: 'This project needs a client token: ?token= or the rb.token.<jwt> subprotocol',
  },
  subscriptionForbidden: {
    code: 'subscription_forbidden',
    status: 403,
    temporary: false,
    metric: refused,
    message: 'Your token does not grant this channel',
  },
  publishForbidden: {
    code: 'publish_forbidden',
    status: 403,
    temporary: false,
    metric: refused,
    message: 'This connection may not publish here',
  },
  rateLimited: { code: 'rate_limited', status: 429, temporary: true, message: 'Too many messages from this connection; slow down' },
  invalidNamespace: {
    code: 'invalid_namespace',
    status: 400,
    temporary: false,
    metric: invalidInput,
    message: 'A namespace is _ or up to 64 letters, digits, - and _',
  },
  invalidNamespaceConfig: {
    code: 'invalid_namespace_config',
    status: 400,
    temporary: false,
    metric: invalidInput,
    message: 'Invalid namespace configuration',
  },
  historyNotEnabled: {
    code: 'history_not_enabled',
    status: 400,
    temporary: false,
    message: "This channel's namespace keeps no history: PUT /projects/{projectId}/namespaces/{namespace} with history",
  },
  presenceNotEnabled: {
    code: 'presence_not_enabled',
    status: 400,
    temporary: false,
    message: 'This channel tracks no members: use a presence-… channel, or a namespace with presence',
  },
  notFound: { code: 'not_found', status: 404, temporary: false, message: 'Not found' },
  unavailable: {
    code: 'unavailable',
    status: 503,
    temporary: true,
    message: 'The service is busy or a part of it is unavailable; nothing was done, retry with backoff',
  },
  internalError: { code: 'internal_error', status: 500, temporary: false, message: 'Internal error' },
} as const satisfies Record<string, ErrorSpec>;

type ErrorName = keyof typeof ERRORS;
export type ErrorCode = (typeof ERRORS)[ErrorName]['code'];

/** The codes by name: `ErrorCode.invalidJson` is `'invalid_json'`. */
export const ErrorCode = Object.fromEntries(Object.entries(ERRORS).map(([name, spec]) => [name, spec.code])) as {
  readonly [N in ErrorName]: (typeof ERRORS)[N]['code'];
};

const BY_CODE = new Map<string, ErrorSpec>(Object.values(ERRORS).map((spec) => [spec.code, spec]));
/** What the product says about a code; undefined for a code it does not know. */
export const errorSpec = (code: string): ErrorSpec | undefined => BY_CODE.get(code);

/** An expected failure, returned (not thrown) by operations and the domain. */
export interface Failure {
  readonly code: ErrorCode;
  readonly message: string;
  /** The connection that caused it is being closed: its codec says so, then closes it. */
  readonly closing?: true;
}

export type Result<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: Failure };

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });
/** A failure with the code's default message unless a more specific one is given. */
export const failure = (code: ErrorCode, message?: string): Failure => ({ code, message: message ?? BY_CODE.get(code)!.message });
export const fail = <T = never>(code: ErrorCode, message?: string): Result<T> => ({ ok: false, error: failure(code, message) });

export const projectNotFound = (projectId: string): Result<never> => fail(ErrorCode.projectNotFound, `No project ${projectId}`);
