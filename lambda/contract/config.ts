/**
 * The handler's configuration: environment variable names (imported by the CDK construct, so the
 * two sides cannot disagree) and one reader that validates them at cold start.
 */

import { NamespaceConfig, parseNamespaceDefaults, PRESENCE_TIMEOUT_SECONDS } from './namespaces';

/** Environment variable names the construct sets and the handler reads. */
export const ENV = {
  connectionsTable: 'CONNECTIONS_TABLE',
  subscriptionsTable: 'SUBSCRIPTIONS_TABLE',
  apiKeysTable: 'API_KEYS_TABLE',
  usageTable: 'USAGE_TABLE',
  retainedTable: 'RETAINED_TABLE',
  projectsTable: 'PROJECTS_TABLE',
  publishesTable: 'PUBLISHES_TABLE',
  channelsTable: 'CHANNELS_TABLE',
  /** Namespace defaults for every project, JSON (see contract/namespaces.ts): how `npm start` takes them. */
  namespaces: 'NAMESPACES',
  /**
   * A JSON file of namespace defaults beside the handler's bundle: how the construct passes them,
   * since Lambda refuses environments over 4 KB and a hundred namespaces take ~8 KB.
   */
  namespacesFile: 'NAMESPACES_FILE',
  /** The EventBridge bus lifecycle events go to; unset: none are sent. */
  eventBusName: 'EVENT_BUS_NAME',
  /** Seconds a presence member may stay silent (no ping) before it is no longer listed. */
  presenceTimeoutSeconds: 'PRESENCE_TIMEOUT_SECONDS',
  /** Posts per second all of a big channel's shards together may make (API Gateway allows 10,000/s per account). */
  deliveryRatePerSecond: 'DELIVERY_RATE_PER_SECOND',
  /** Channels with more subscribers than this are published in the background (202). */
  backgroundFanoutAbove: 'BACKGROUND_FANOUT_ABOVE',
  /** Set by the Lambda runtime: the function invokes itself for background tasks. */
  functionName: 'AWS_LAMBDA_FUNCTION_NAME',
  /** `true` refuses WebSocket connections without a valid client token, in every project (`default` included). */
  requireToken: 'REQUIRE_TOKEN',
  /** The former name of {@link ENV.requireToken}, still read: `true` means the same. */
  requireApiKey: 'REQUIRE_API_KEY',
  /** The WebSocket stage's callback URL (`https://{api}.execute-api.{region}.amazonaws.com/{stage}`). */
  managementEndpoint: 'MANAGEMENT_ENDPOINT',
  accessKeySecretArn: 'ACCESS_KEY_SECRET_ARN',
  /** The secret project keys are sealed with (see auth/sealing.ts). */
  sealingSecretArn: 'SEALING_SECRET_ARN',
  /** Seconds the master key's previous version keeps working after a rotation. */
  masterKeyGraceSeconds: 'MASTER_KEY_GRACE_SECONDS',
  fanoutConcurrency: 'FANOUT_CONCURRENCY',
  /** Seconds a fetched access key is trusted before it is read again. */
  accessKeyCacheSeconds: 'ACCESS_KEY_CACHE_SECONDS',
} as const;

export interface Config {
  readonly connectionsTable: string;
  readonly subscriptionsTable: string;
  readonly apiKeysTable: string;
  readonly usageTable: string;
  readonly retainedTable: string;
  readonly projectsTable: string;
  readonly publishesTable: string;
  readonly channelsTable: string;
  readonly namespaces: Readonly<Record<string, NamespaceConfig>>;
  readonly eventBusName?: string;
  readonly presenceTimeoutSeconds: number;
  readonly deliveryRatePerSecond: number;
  readonly backgroundFanoutAbove: number;
  readonly functionName?: string;
  readonly requireToken: boolean;
  readonly managementEndpoint: string;
  readonly accessKeySecretArn?: string;
  readonly sealingSecretArn?: string;
  readonly masterKeyGraceSeconds: number;
  readonly fanoutConcurrency: number;
  readonly accessKeyCacheSeconds: number;
}

/** What a deployment decides; the Lambda runtime supplies the rest (the function's name). */
export interface HandlerSettings {
  readonly connectionsTable: string;
  readonly subscriptionsTable: string;
  readonly apiKeysTable: string;
  readonly usageTable: string;
  readonly retainedTable: string;
  readonly projectsTable: string;
  readonly publishesTable: string;
  readonly channelsTable: string;
  /** Namespace defaults in the environment itself (the local stack). */
  readonly namespaces?: Readonly<Record<string, NamespaceConfig>>;
  /** The name of a file beside the bundle holding the namespace defaults (the construct). */
  readonly namespacesFile?: string;
  readonly eventBusName?: string;
  readonly presenceTimeoutSeconds?: number;
  readonly deliveryRatePerSecond?: number;
  readonly backgroundFanoutAbove?: number;
  readonly managementEndpoint: string;
  readonly accessKeySecretArn?: string;
  readonly sealingSecretArn?: string;
  readonly masterKeyGraceSeconds?: number;
  readonly fanoutConcurrency?: number;
  readonly requireToken?: boolean;
}

/**
 * The environment that gives the handler these settings, the inverse of {@link readConfig}:
 * the construct and the local stack both build the handler's configuration with it.
 */
export function handlerEnvironment(settings: HandlerSettings): Record<string, string> {
  return {
    [ENV.connectionsTable]: settings.connectionsTable,
    [ENV.subscriptionsTable]: settings.subscriptionsTable,
    [ENV.apiKeysTable]: settings.apiKeysTable,
    [ENV.usageTable]: settings.usageTable,
    [ENV.retainedTable]: settings.retainedTable,
    [ENV.projectsTable]: settings.projectsTable,
    [ENV.publishesTable]: settings.publishesTable,
    [ENV.channelsTable]: settings.channelsTable,
    ...(settings.namespaces !== undefined && { [ENV.namespaces]: JSON.stringify(settings.namespaces) }),
    ...(settings.namespacesFile !== undefined && { [ENV.namespacesFile]: settings.namespacesFile }),
    ...(settings.eventBusName !== undefined && { [ENV.eventBusName]: settings.eventBusName }),
    [ENV.presenceTimeoutSeconds]: String(settings.presenceTimeoutSeconds ?? PRESENCE_TIMEOUT_SECONDS),
    [ENV.deliveryRatePerSecond]: String(settings.deliveryRatePerSecond ?? DEFAULT_DELIVERY_RATE_PER_SECOND),
    [ENV.backgroundFanoutAbove]: String(settings.backgroundFanoutAbove ?? DEFAULT_BACKGROUND_FANOUT_ABOVE),
    [ENV.managementEndpoint]: settings.managementEndpoint,
    ...(settings.accessKeySecretArn !== undefined && { [ENV.accessKeySecretArn]: settings.accessKeySecretArn }),
    ...(settings.sealingSecretArn !== undefined && { [ENV.sealingSecretArn]: settings.sealingSecretArn }),
    [ENV.masterKeyGraceSeconds]: String(settings.masterKeyGraceSeconds ?? DEFAULT_MASTER_KEY_GRACE_SECONDS),
    [ENV.fanoutConcurrency]: String(settings.fanoutConcurrency ?? DEFAULT_FANOUT_CONCURRENCY),
    [ENV.requireToken]: String(settings.requireToken ?? false),
  };
}

/**
 * The settings a deployment tunes (the construct's props), by variable name: the local stack reads
 * these from its own environment, so `REQUIRE_API_KEY=true npm start` behaves as on AWS.
 */
export const TUNABLE_SETTINGS = [
  ENV.namespaces,
  ENV.presenceTimeoutSeconds,
  ENV.requireToken,
  ENV.requireApiKey,
  ENV.fanoutConcurrency,
  ENV.deliveryRatePerSecond,
  ENV.backgroundFanoutAbove,
  ENV.masterKeyGraceSeconds,
  ENV.accessKeyCacheSeconds,
] as const;

/** The tunable settings present in `env`, to lay over a generated handler environment. */
export function tunableSettings(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(TUNABLE_SETTINGS.flatMap((name) => (env[name] !== undefined && env[name] !== '' ? [[name, env[name]!]] : [])));
}

export const DEFAULT_FANOUT_CONCURRENCY = 100;
/** 8,000 of API Gateway's 10,000 requests/s per account, leaving room for everything else. */
export const DEFAULT_DELIVERY_RATE_PER_SECOND = 8_000;
export const DEFAULT_BACKGROUND_FANOUT_ABOVE = 2_000;
export const DEFAULT_ACCESS_KEY_CACHE_SECONDS = 300;
export const DEFAULT_MASTER_KEY_GRACE_SECONDS = 24 * 60 * 60;

/**
 * Reads and checks the configuration. Throws at cold start with the variable's name, so a broken
 * deployment fails loudly once instead of on every request. `readBesideBundle` reads a file the
 * construct put beside the handler's bundle (`NAMESPACES_FILE`); the Lambda entry passes it.
 */
export function readConfig(env: Record<string, string | undefined>, readBesideBundle?: (name: string) => string): Config {
  const required = (name: string): string => {
    const value = env[name];
    if (!value) throw new Error(`Missing environment variable ${name}`);
    return value;
  };
  const integer = (name: string, fallback: number, min: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min) {
      throw new Error(`${name} must be ${min === 0 ? 'a non-negative' : 'a positive'} integer, got "${raw}"`);
    }
    return value;
  };
  const positiveInt = (name: string, fallback: number) => integer(name, fallback, 1);
  const flag = (name: string): boolean => {
    const raw = (env[name] ?? '').toLowerCase();
    if (raw === '' || raw === 'false') return false;
    if (raw === 'true') return true;
    throw new Error(`${name} must be true or false, got "${env[name]}"`);
  };
  // Both read, so a malformed value of either fails loudly.
  const requireToken = [flag(ENV.requireToken), flag(ENV.requireApiKey)].some(Boolean);
  return {
    connectionsTable: required(ENV.connectionsTable),
    subscriptionsTable: required(ENV.subscriptionsTable),
    apiKeysTable: required(ENV.apiKeysTable),
    usageTable: required(ENV.usageTable),
    retainedTable: required(ENV.retainedTable),
    projectsTable: required(ENV.projectsTable),
    publishesTable: required(ENV.publishesTable),
    channelsTable: required(ENV.channelsTable),
    namespaces: namespaceDefaults(env, readBesideBundle),
    eventBusName: env[ENV.eventBusName] || undefined,
    presenceTimeoutSeconds: positiveInt(ENV.presenceTimeoutSeconds, PRESENCE_TIMEOUT_SECONDS),
    deliveryRatePerSecond: positiveInt(ENV.deliveryRatePerSecond, DEFAULT_DELIVERY_RATE_PER_SECOND),
    backgroundFanoutAbove: positiveInt(ENV.backgroundFanoutAbove, DEFAULT_BACKGROUND_FANOUT_ABOVE),
    functionName: env[ENV.functionName] || undefined,
    requireToken,
    managementEndpoint: required(ENV.managementEndpoint),
    accessKeySecretArn: env[ENV.accessKeySecretArn] || undefined,
    sealingSecretArn: env[ENV.sealingSecretArn] || undefined,
    masterKeyGraceSeconds: integer(ENV.masterKeyGraceSeconds, DEFAULT_MASTER_KEY_GRACE_SECONDS, 0),
    fanoutConcurrency: positiveInt(ENV.fanoutConcurrency, DEFAULT_FANOUT_CONCURRENCY),
    accessKeyCacheSeconds: positiveInt(ENV.accessKeyCacheSeconds, DEFAULT_ACCESS_KEY_CACHE_SECONDS),
  };
}

/** The namespace defaults from `NAMESPACES` (JSON) or `NAMESPACES_FILE` (a file beside the bundle); not both. */
function namespaceDefaults(env: Record<string, string | undefined>, readBesideBundle?: (name: string) => string): Readonly<Record<string, NamespaceConfig>> {
  const file = env[ENV.namespacesFile];
  if (!file) return parseNamespaceDefaults(ENV.namespaces, env[ENV.namespaces]);
  if (env[ENV.namespaces]) throw new Error(`Set ${ENV.namespaces} or ${ENV.namespacesFile}, not both`);
  if (!/^[\w.-]+\.json$/.test(file)) throw new Error(`${ENV.namespacesFile} must name a .json file beside the handler, got "${file}"`);
  if (!readBesideBundle) throw new Error(`${ENV.namespacesFile} is set, but this handler cannot read files beside its bundle`);
  let text: string;
  try {
    text = readBesideBundle(file);
  } catch (error) {
    throw new Error(`${ENV.namespacesFile}: cannot read ${file} beside the handler (${(error as Error).message}); the construct writes it at synth`);
  }
  return parseNamespaceDefaults(`${ENV.namespacesFile} (${file})`, text);
}
