/**
 * The provided stack's settings, from CDK context (`cdk.json`'s `context`, or `-c key=value` on the
 * command line), so a deployment needs no code edits:
 *
 * | key | value |
 * |---|---|
 * | `stackName` | the CloudFormation stack (default `RealtimeBroadcast`; one per environment) |
 * | `stageName` | the WebSocket stage (default `production`) |
 * | `requireToken` | `true` refuses connections without a client token everywhere |
 * | `alarmEmail` | where alarms are sent |
 * | `memorySize` | the handler's memory, MB |
 * | `deliveryRatePerSecond` | a big channel's posts per second, all shards together |
 * | `namespaces` | a JSON file of namespace defaults (`{"chat": {"history": {…}, "presence": true}}`) |
 * | `logLevel` | `DEBUG`, `INFO`, `WARN` or `ERROR` |
 * | `lifecycleEvents` | `true` sends lifecycle events to the default EventBridge bus |
 * | `pusherEndpoint` | `true` puts the Pusher endpoint (CloudFront) in front of the WebSocket API |
 *
 * Bad values fail at synth with a sentence naming the setting.
 *
 * @example
 * // cdk deploy -c stackName=RealtimeStaging -c stageName=staging -c alarmEmail=ops@example.com
 * const settings = readContextSettings(app.node);
 * new BroadcastStack(app, settings.stackName, { broadcast: settings.broadcast });
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Node } from 'constructs';
import { namespaceDefaultsProblem, NamespaceConfig } from '../lambda/contract/namespaces';
import type { RealtimeBroadcastProps } from './realtime-broadcast';

/**
 * The CDK context keys the provided app reads.
 * @example
 * // npx cdk deploy -c memorySize=1024 -c logLevel=DEBUG
 * CONTEXT_KEYS.includes('memorySize'); // true
 */
export const CONTEXT_KEYS = [
  'stackName',
  'stageName',
  'requireToken',
  'alarmEmail',
  'memorySize',
  'deliveryRatePerSecond',
  'namespaces',
  'logLevel',
  'lifecycleEvents',
  'pusherEndpoint',
] as const;

/**
 * What the provided app deploys: the stack's name and the construct's props.
 * @example
 * const { stackName, broadcast } = readContextSettings(app.node);
 */
export interface ContextSettings {
  readonly stackName: string;
  readonly broadcast: RealtimeBroadcastProps;
}

const LOG_LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR'] as const;

/**
 * Context keys that are not the app's: the CDK's own (feature flags such as `@aws-cdk/core:…`,
 * `aws:cdk:…`, cached lookups such as `availability-zones:account=…`, all with `@` or `:`) and what
 * `cdk acknowledge` writes.
 */
const isCdkKey = (key: string): boolean => key.startsWith('@') || key.includes(':') || key === 'acknowledged-issue-numbers';

/** Context keys given to the app that it does not read: a misspelling would otherwise be ignored silently. */
function unknownContextKeys(keys: readonly string[]): string[] {
  return keys.filter((key) => !isCdkKey(key) && !(CONTEXT_KEYS as readonly string[]).includes(key));
}

function unknownKeysMessage(unknown: readonly string[]): string {
  const guess = (key: string) => {
    const plain = key.toLowerCase().replace(/[-_]/g, '');
    const known = CONTEXT_KEYS.find((candidate) => candidate.toLowerCase() === plain);
    return known ? ` (did you mean ${known}?)` : '';
  };
  return (
    `Unknown context key${unknown.length > 1 ? 's' : ''} ${unknown.map((key) => `${key}${guess(key)}`).join(', ')}: ` +
    `the app reads ${CONTEXT_KEYS.join(', ')} (as -c key=value or in cdk.json's context)`
  );
}

/**
 * Reads and checks the settings; `baseDir` resolves a relative `namespaces` path (the app's directory).
 * @example
 * const settings = readContextSettings(app.node);
 * new BroadcastStack(app, settings.stackName, { broadcast: settings.broadcast });
 */
export function readContextSettings(
  node: Pick<Node, 'tryGetContext'> & Partial<Pick<Node, 'getAllContext'>>,
  baseDir = process.cwd(),
): ContextSettings {
  const unknown = unknownContextKeys(Object.keys((node.getAllContext?.() ?? {}) as Record<string, unknown>));
  if (unknown.length > 0) throw new Error(unknownKeysMessage(unknown));
  const raw = (key: (typeof CONTEXT_KEYS)[number]): unknown => node.tryGetContext(key);
  const fail = (key: string, what: string, value: unknown): never => {
    throw new Error(`Context setting ${key} must be ${what}, got ${JSON.stringify(value)?.slice(0, 100)}`);
  };
  const text = (key: (typeof CONTEXT_KEYS)[number], pattern: RegExp, what: string): string | undefined => {
    const value = raw(key);
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || !pattern.test(value)) return fail(key, what, value);
    return value;
  };
  const flag = (key: (typeof CONTEXT_KEYS)[number]): boolean | undefined => {
    const value = raw(key);
    if (value === undefined) return undefined;
    if (value === true || value === 'true') return true;
    if (value === false || value === 'false') return false;
    return fail(key, 'true or false', value);
  };
  const integer = (key: (typeof CONTEXT_KEYS)[number], min: number, max: number): number | undefined => {
    const value = raw(key);
    if (value === undefined) return undefined;
    const number = typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : NaN;
    if (!Number.isInteger(number) || number < min || number > max) return fail(key, `a whole number from ${min} to ${max}`, value);
    return number;
  };

  const logLevel = text('logLevel', new RegExp(`^(${LOG_LEVELS.join('|')})$`), LOG_LEVELS.join(', ')) as RealtimeBroadcastProps['logLevel'];
  const namespacesFile = text('namespaces', /\S/, 'the path of a JSON file of namespace defaults');
  let namespaces: Record<string, NamespaceConfig> | undefined;
  if (namespacesFile !== undefined) {
    const file = path.resolve(baseDir, namespacesFile);
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      throw new Error(`Context setting namespaces: cannot read ${file} as JSON (${(error as Error).message})`, { cause: error });
    }
    const problem = namespaceDefaultsProblem(parsed);
    if (problem) throw new Error(`Context setting namespaces (${file}): ${problem}`);
    namespaces = parsed as Record<string, NamespaceConfig>;
  }
  const broadcast: RealtimeBroadcastProps = Object.fromEntries(
    Object.entries({
      stageName: text('stageName', /^[A-Za-z0-9_-]{1,128}$/, 'letters, digits, - and _ (1 to 128)'),
      requireToken: flag('requireToken'),
      alarmEmail: text('alarmEmail', /^[^\s@]+@[^\s@]+\.[^\s@]+$/, 'an email address'),
      memorySize: integer('memorySize', 128, 10240),
      deliveryRatePerSecond: integer('deliveryRatePerSecond', 1, 100_000),
      namespaces,
      logLevel,
      lifecycleEvents: flag('lifecycleEvents'),
      pusherEndpoint: flag('pusherEndpoint'),
    }).filter(([, value]) => value !== undefined),
  );
  return {
    stackName:
      text('stackName', /^[A-Za-z][A-Za-z0-9-]{0,127}$/, 'a stack name (a letter, then letters, digits and -)') ?? 'RealtimeBroadcast',
    broadcast,
  };
}
