/**
 * Channel namespaces: a channel's namespace is the part of its name before the first `:`
 * (`chat:room-1` → `chat`), or the root namespace `_` when there is none. A namespace's
 * configuration says whether its channels keep a history (how many messages, how long) and track
 * presence. The construct (its `namespaces` prop), the local stack and the handler's HTTP API all
 * check configurations with {@link namespaceConfigProblem}, so a bad one fails the same way at synth,
 * at `npm start` and over HTTP.
 */

/**
 * @example
 * const history: HistoryConfig = { size: 100, ttlSeconds: 86_400 };
 */
export interface HistoryConfig {
  /** Messages kept per channel (the newest ones). */
  readonly size: number;
  /** How long each message is kept. */
  readonly ttlSeconds: number;
}

/**
 * @example
 * new RealtimeBroadcast(this, 'Rt', { namespaces: { chat: { history: { size: 100, ttlSeconds: 86_400 }, presence: true } } });
 */
export interface NamespaceConfig {
  readonly history?: HistoryConfig;
  /** Members are tracked on the namespace's channels (as on every `presence-…` channel). */
  readonly presence?: boolean;
}

export const ROOT_NAMESPACE = '_';

/**
 * The file beside the handler's bundle that holds the deployment's namespace defaults (JSON): the
 * construct writes it at synth and names it in `NAMESPACES_FILE`; Lambda's 4 KB environment has no
 * room for them.
 */
export const NAMESPACE_DEFAULTS_FILE = 'namespaces.json';

export const NAMESPACE_LIMITS = {
  historySize: { min: 1, max: 1000 },
  /** One minute to seven days. */
  historyTtlSeconds: { min: 60, max: 7 * 24 * 60 * 60 },
  /** Namespaces one project may configure. */
  perProject: 100,
} as const;

/** A namespace name: `_` or up to 64 letters, digits, `-` and `_` (a channel's name before its `:`). */
export const NAMESPACE_NAME = /^(?:_|[A-Za-z0-9_-]{1,64})$/;

/** Members silent longer than this (clients ping) are no longer listed, and are removed. */
export const PRESENCE_TIMEOUT_SECONDS = 5 * 60;

/** The namespace a channel is in. */
export function namespaceOf(channel: string): string {
  const colon = channel.indexOf(':');
  return colon > 0 ? channel.slice(0, colon) : ROOT_NAMESPACE;
}

/** What is wrong with a namespace configuration, as a sentence naming the field; undefined if nothing. */
export function namespaceConfigProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'a namespace configuration must be an object';
  const unknown = Object.keys(value).filter((key) => key !== 'history' && key !== 'presence');
  if (unknown.length > 0) return `unknown field ${unknown[0]}: a namespace has history and presence`;
  const { history, presence } = value as { history?: unknown; presence?: unknown };
  if (presence !== undefined && typeof presence !== 'boolean') return 'presence must be true or false';
  if (history === undefined) return undefined;
  if (typeof history !== 'object' || history === null || Array.isArray(history))
    return 'history must be an object with size and ttlSeconds';
  const extra = Object.keys(history).filter((key) => key !== 'size' && key !== 'ttlSeconds');
  if (extra.length > 0) return `unknown field history.${extra[0]}: history has size and ttlSeconds`;
  const { size, ttlSeconds } = history as { size?: unknown; ttlSeconds?: unknown };
  const bounded = (name: string, field: unknown, { min, max }: { min: number; max: number }) =>
    Number.isInteger(field) && (field as number) >= min && (field as number) <= max
      ? undefined
      : `${name} must be an integer from ${min} to ${max}`;
  return (
    bounded('history.size', size, NAMESPACE_LIMITS.historySize) ??
    bounded('history.ttlSeconds', ttlSeconds, NAMESPACE_LIMITS.historyTtlSeconds)
  );
}

/** What is wrong with a set of namespace defaults (name → configuration); undefined if nothing. */
export function namespaceDefaultsProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return 'namespaces must be an object of namespace name → configuration';
  const entries = Object.entries(value);
  if (entries.length > NAMESPACE_LIMITS.perProject) return `at most ${NAMESPACE_LIMITS.perProject} namespaces`;
  for (const [name, config] of entries) {
    if (!NAMESPACE_NAME.test(name)) return `namespace "${name.slice(0, 80)}": a name is _ or up to 64 letters, digits, - and _`;
    const problem = namespaceConfigProblem(config);
    if (problem) return `namespace ${name}: ${problem}`;
  }
  return undefined;
}

/** Reads the defaults from their environment form (JSON); throws a sentence naming the variable. */
export function parseNamespaceDefaults(variable: string, raw: string | undefined): Readonly<Record<string, NamespaceConfig>> {
  if (raw === undefined || raw.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new Error(`${variable} must be JSON: {"chat": {"history": {"size": 100, "ttlSeconds": 86400}, "presence": true}}`);
  }
  const problem = namespaceDefaultsProblem(parsed);
  if (problem) throw new Error(`${variable}: ${problem}`);
  return parsed as Record<string, NamespaceConfig>;
}
