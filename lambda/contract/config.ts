/**
 * The handler's configuration: environment variable names (imported by the CDK construct, so the
 * two sides cannot disagree) and one reader that validates them at cold start.
 */

import { HANDLER_TIMEOUT_SECONDS } from './limits';
import { NamespaceConfig, parseNamespaceDefaults, PRESENCE_TIMEOUT_SECONDS } from './namespaces';

/**
 * Every setting once: its environment variable, how it is read, its default, and who gives it —
 * the deployment (the construct's props, or `npm start`'s environment when `tunable`) or the
 * Lambda runtime. The environment names, the handler's reader, the construct's writer and the local
 * stack's reader all come from this table.
 */
const SETTINGS = {
  connectionsTable: { env: 'CONNECTIONS_TABLE', read: 'text', required: true },
  subscriptionsTable: { env: 'SUBSCRIPTIONS_TABLE', read: 'text', required: true },
  apiKeysTable: { env: 'API_KEYS_TABLE', read: 'text', required: true },
  usageTable: { env: 'USAGE_TABLE', read: 'text', required: true },
  retainedTable: { env: 'RETAINED_TABLE', read: 'text', required: true },
  projectsTable: { env: 'PROJECTS_TABLE', read: 'text', required: true },
  publishesTable: { env: 'PUBLISHES_TABLE', read: 'text', required: true },
  channelsTable: { env: 'CHANNELS_TABLE', read: 'text', required: true },
  /** Namespace defaults for every project, JSON (see contract/namespaces.ts): how `npm start` takes them. */
  namespaces: { env: 'NAMESPACES', read: 'json', tunable: true },
  /**
   * A JSON file of namespace defaults beside the handler's bundle: how the construct passes them,
   * since Lambda refuses environments over 4 KB and a hundred namespaces take ~8 KB.
   */
  namespacesFile: { env: 'NAMESPACES_FILE', read: 'text' },
  /** The EventBridge bus lifecycle events go to; unset: none are sent. */
  eventBusName: { env: 'EVENT_BUS_NAME', read: 'text' },
  /** Seconds a presence member may stay silent (no ping) before it is no longer listed. */
  presenceTimeoutSeconds: { env: 'PRESENCE_TIMEOUT_SECONDS', read: 'positive', default: PRESENCE_TIMEOUT_SECONDS, tunable: true },
  /** Posts per second all of a big channel's shards together may make (API Gateway allows 10,000/s per account). */
  deliveryRatePerSecond: { env: 'DELIVERY_RATE_PER_SECOND', read: 'positive', default: 8_000, tunable: true },
  /** Channels with more subscribers than this are published in the background (202). */
  backgroundFanoutAbove: { env: 'BACKGROUND_FANOUT_ABOVE', read: 'positive', default: 2_000, tunable: true },
  /**
   * Seconds Lambda keeps trying to start a background task's asynchronous event (the function's
   * maximum event age, 60–21,600 on AWS; the construct sets both): after it, a task not started is lost.
   */
  taskMaxAgeSeconds: { env: 'TASK_MAX_AGE_SECONDS', read: 'positive', default: 900, tunable: true },
  /** The function's timeout (the construct's, 29 s): how long an attempt Lambda started at a task's maximum age may still run. */
  functionTimeoutSeconds: { env: 'FUNCTION_TIMEOUT_SECONDS', read: 'positive', default: HANDLER_TIMEOUT_SECONDS },
  /** Set by the Lambda runtime: the function invokes itself for background tasks. */
  functionName: { env: 'AWS_LAMBDA_FUNCTION_NAME', read: 'text', runtime: true },
  /** `true` refuses WebSocket connections without a valid client token, in every project (`default` included). */
  requireToken: { env: 'REQUIRE_TOKEN', read: 'flag', default: false, tunable: true, formerly: 'REQUIRE_API_KEY' },
  /** `true` lets webhook URLs be http:// (the local stack's, to a receiver on the same machine); unset: https:// only. */
  webhooksAllowHttp: { env: 'WEBHOOKS_ALLOW_HTTP', read: 'flag' },
  /** The WebSocket stage's callback URL (`https://{api}.execute-api.{region}.amazonaws.com/{stage}`). */
  managementEndpoint: { env: 'MANAGEMENT_ENDPOINT', read: 'text', required: true },
  accessKeySecretArn: { env: 'ACCESS_KEY_SECRET_ARN', read: 'text' },
  /** The secret project keys are sealed with (see auth/sealing.ts). */
  sealingSecretArn: { env: 'SEALING_SECRET_ARN', read: 'text' },
  /** Seconds the master key's previous version keeps working after a rotation. */
  masterKeyGraceSeconds: { env: 'MASTER_KEY_GRACE_SECONDS', read: 'nonNegative', default: 24 * 60 * 60, tunable: true },
  fanoutConcurrency: { env: 'FANOUT_CONCURRENCY', read: 'positive', default: 100, tunable: true },
  /** Seconds a fetched access key is trusted before it is read again. */
  accessKeyCacheSeconds: { env: 'ACCESS_KEY_CACHE_SECONDS', read: 'positive', default: 300, tunable: true },
} as const satisfies Record<string, SettingSpec>;

interface SettingSpec {
  readonly env: string;
  /** How the variable is read: text, a whole number (> 0 or ≥ 0), `true`/`false`, or JSON (namespace defaults). */
  readonly read: 'text' | 'positive' | 'nonNegative' | 'flag' | 'json';
  /** The handler does not start without it. */
  readonly required?: true;
  /** Its value when the variable is unset (the construct writes it out all the same). */
  readonly default?: number | boolean;
  /** `npm start` takes it from its own environment, as the construct takes it from a prop. */
  readonly tunable?: true;
  /** The Lambda runtime sets it, not the deployment. */
  readonly runtime?: true;
  /** A former name, still read: `true` there means the same. */
  readonly formerly?: string;
}

type Settings = typeof SETTINGS;
type Name = keyof Settings;
type ValueOf<S> = S extends { read: 'text' }
  ? string
  : S extends { read: 'flag' }
    ? boolean
    : S extends { read: 'json' }
      ? Readonly<Record<string, NamespaceConfig>>
      : number;

/** Environment variable names the construct sets and the handler reads, by setting. */
export const ENV = {
  ...(Object.fromEntries(Object.entries(SETTINGS).map(([name, spec]) => [name, spec.env])) as { readonly [N in Name]: Settings[N]['env'] }),
  /** The former name of {@link ENV.requireToken}, still read: `true` means the same. */
  requireApiKey: SETTINGS.requireToken.formerly,
} as const;

/** The handler's configuration, as read: required settings and those with a default always hold a value. */
export type Config = {
  readonly [N in Name as N extends 'namespacesFile' ? never : N]: Settings[N] extends
    { required: true } | { default: unknown } | { read: 'json' }
    ? ValueOf<Settings[N]>
    : ValueOf<Settings[N]> | undefined;
};

/** What a deployment decides; the Lambda runtime supplies the rest (the function's name). */
export type HandlerSettings = {
  readonly [
    N in Name as Settings[N] extends { runtime: true } ? never : N extends 'accessKeyCacheSeconds' ? never : N
  ]: Settings[N] extends { required: true } ? ValueOf<Settings[N]> : ValueOf<Settings[N]> | undefined;
};

const write = (spec: SettingSpec, value: unknown): string => (spec.read === 'json' ? JSON.stringify(value) : String(value));

/**
 * The environment that gives the handler these settings, the inverse of {@link readConfig}: the
 * construct and the local stack both build the handler's configuration with it. A setting with a
 * default is written out even when not given, so the function's configuration shows every value.
 */
export function handlerEnvironment(settings: Partial<HandlerSettings> & Pick<HandlerSettings, RequiredName>): Record<string, string> {
  const environment: Record<string, string> = {};
  for (const [name, spec] of Object.entries(SETTINGS) as [Name, SettingSpec][]) {
    if (spec.runtime || name === 'accessKeyCacheSeconds') continue;
    const value = (settings as Record<string, unknown>)[name] ?? spec.default;
    if (value !== undefined) environment[spec.env] = write(spec, value);
  }
  return environment;
}

type RequiredName = { [N in Name]: Settings[N] extends { required: true } ? N : never }[Name];

/**
 * The settings a deployment tunes (the construct's props), by variable name: the local stack reads
 * these from its own environment, so `REQUIRE_TOKEN=true npm start` behaves as on AWS.
 */
export const TUNABLE_SETTINGS: readonly string[] = [
  ...Object.values(SETTINGS as Record<string, SettingSpec>).flatMap((spec) =>
    spec.tunable ? [spec.env, ...(spec.formerly ? [spec.formerly] : [])] : [],
  ),
];

/** The tunable settings present in `env`, to lay over a generated handler environment. */
export function tunableSettings(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(TUNABLE_SETTINGS.flatMap((name) => (env[name] !== undefined && env[name] !== '' ? [[name, env[name]]] : [])));
}

export const DEFAULT_FANOUT_CONCURRENCY = SETTINGS.fanoutConcurrency.default;
/** 8,000 of API Gateway's 10,000 requests/s per account, leaving room for everything else. */
export const DEFAULT_DELIVERY_RATE_PER_SECOND = SETTINGS.deliveryRatePerSecond.default;
export const DEFAULT_BACKGROUND_FANOUT_ABOVE = SETTINGS.backgroundFanoutAbove.default;
export const DEFAULT_ACCESS_KEY_CACHE_SECONDS = SETTINGS.accessKeyCacheSeconds.default;
export const DEFAULT_TASK_MAX_AGE_SECONDS = SETTINGS.taskMaxAgeSeconds.default;
export const DEFAULT_MASTER_KEY_GRACE_SECONDS = SETTINGS.masterKeyGraceSeconds.default;

/**
 * Reads and checks the configuration. Throws at cold start with the variable's name, so a broken
 * deployment fails loudly once instead of on every request. `readBesideBundle` reads a file the
 * construct put beside the handler's bundle (`NAMESPACES_FILE`); the Lambda entry passes it.
 */
export function readConfig(env: Record<string, string | undefined>, readBesideBundle?: (name: string) => string): Config {
  const read = (spec: SettingSpec): unknown => {
    const raw = env[spec.env];
    if (raw === undefined || raw === '') {
      if (spec.required) throw new Error(`Missing environment variable ${spec.env}`);
      return spec.default;
    }
    switch (spec.read) {
      case 'text':
        return raw;
      case 'flag': {
        if (raw.toLowerCase() === 'true') return true;
        if (raw.toLowerCase() === 'false') return false;
        throw new Error(`${spec.env} must be true or false, got "${raw}"`);
      }
      case 'json':
        return undefined; // namespace defaults: read below, with their file
      default: {
        const value = Number(raw);
        const min = spec.read === 'positive' ? 1 : 0;
        if (!Number.isInteger(value) || value < min)
          throw new Error(`${spec.env} must be ${min === 0 ? 'a non-negative' : 'a positive'} integer, got "${raw}"`);
        return value;
      }
    }
  };
  const config: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(SETTINGS) as [Name, SettingSpec][]) {
    if (name === 'namespacesFile') continue;
    config[name] = read(spec);
    if (spec.formerly) {
      // Both read, so a malformed value of either fails loudly.
      const former = read({ ...spec, env: spec.formerly });
      config[name] = config[name] === true || former === true;
    }
  }
  config.namespaces = namespaceDefaults(env, readBesideBundle);
  return config as Config;
}

/** The namespace defaults from `NAMESPACES` (JSON) or `NAMESPACES_FILE` (a file beside the bundle); not both. */
function namespaceDefaults(
  env: Record<string, string | undefined>,
  readBesideBundle?: (name: string) => string,
): Readonly<Record<string, NamespaceConfig>> {
  const file = env[ENV.namespacesFile];
  if (!file) return parseNamespaceDefaults(ENV.namespaces, env[ENV.namespaces]);
  if (env[ENV.namespaces]) throw new Error(`Set ${ENV.namespaces} or ${ENV.namespacesFile}, not both`);
  if (!/^[\w.-]+\.json$/.test(file)) throw new Error(`${ENV.namespacesFile} must name a .json file beside the handler, got "${file}"`);
  if (!readBesideBundle) throw new Error(`${ENV.namespacesFile} is set, but this handler cannot read files beside its bundle`);
  let text: string;
  try {
    text = readBesideBundle(file);
  } catch (error) {
    throw new Error(
      `${ENV.namespacesFile}: cannot read ${file} beside the handler (${(error as Error).message}); the construct writes it at synth`,
      { cause: error },
    );
  }
  return parseNamespaceDefaults(`${ENV.namespacesFile} (${file})`, text);
}
