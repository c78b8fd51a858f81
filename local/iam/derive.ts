/**
 * The handler's permissions, taken from the construct `cdk deploy` uses: the stack is synthesized
 * in-process (asset bundling skipped), the policies attached to the handler function's role are
 * read from the template, and their references (`Ref`, `Fn::GetAtt`, `Fn::Join`, `Fn::Sub`,
 * `Fn::Select`, `Fn::Split`) are resolved to the local stack's resources. A grant the construct
 * forgot is then missing locally too.
 *
 * Synthesizing loads aws-cdk-lib (seconds), so the result is cached on disk under a hash of
 * everything it depends on: `lib/`, `lambda/contract/`, the aws-cdk-lib version and the local names.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ENV } from '../../lambda/contract/config';
import type { BroadcastStack } from '../../lib/broadcast-stack';
import { RolePolicy, Statement } from './policy';

const ROOT = path.join(__dirname, '..', '..');
const STACK_NAME = 'RealtimeBroadcast';

/** What the local stack's resources are called: the values references resolve to. */
export interface LocalResources {
  readonly region: string;
  readonly account: string;
  /** The environment the local stack gives the handler: tables and secrets resolve through it. */
  readonly environment: Readonly<Record<string, string>>;
  readonly functionName: string;
  readonly webSocketApiId: string;
  readonly httpApiId: string;
  readonly stageName: string;
  /** The construct's lifecycle events, as the local stack runs them (they add a grant). */
  readonly lifecycleEvents: boolean;
}

/** What synthesis found: the statements, resolved, and the role they belong to. */
export interface DerivedPolicy {
  readonly roleName: string;
  readonly statements: readonly Statement[];
}

type Template = { Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }> };

/** What the policy is read from, in the properties of a function, a role and a policy. */
interface FunctionProperties {
  readonly Role?: { readonly 'Fn::GetAtt'?: readonly [string, string] };
  readonly Environment?: { readonly Variables?: Record<string, unknown> };
}
interface RoleProperties {
  readonly Policies?: readonly { readonly PolicyDocument: PolicyDocument }[];
}
interface PolicyProperties {
  readonly Roles?: readonly ({ readonly Ref?: unknown } | null)[];
}
interface PolicyDocument {
  readonly Statement?: Record<string, unknown> | Record<string, unknown>[];
}

/**
 * Synthesizes the stack and derives the handler's policy. `variant` may change the stack before
 * synthesis (tests remove a grant with it); a variant is never cached.
 */
export async function deriveHandlerPolicy(
  local: LocalResources,
  options: { variant?: (stack: BroadcastStack) => void; cacheDir?: string | false } = {},
): Promise<RolePolicy> {
  const cacheDir = options.variant || options.cacheDir === false ? undefined : (options.cacheDir ?? defaultCacheDir());
  const cacheFile = cacheDir && path.join(cacheDir, `handler-policy-${cacheKey(local)}.json`);
  let derived: DerivedPolicy | undefined;
  if (cacheFile) {
    try {
      derived = JSON.parse(readFileSync(cacheFile, 'utf8')) as DerivedPolicy;
    } catch {
      // Not cached yet.
    }
  }
  if (!derived) {
    derived = policyOf(await synthesize(local, options.variant), local);
    if (cacheFile) writeAtomically(cacheFile, JSON.stringify(derived));
  }
  return new RolePolicy(derived.statements, `arn:aws:sts::${local.account}:assumed-role/${derived.roleName}/${local.functionName}`);
}

async function synthesize(local: LocalResources, variant?: (stack: BroadcastStack) => void): Promise<Template> {
  // Loaded here, not at the top: a cached policy needs no CDK at all.
  const [{ App }, { BroadcastStack: Stack }] = await Promise.all([import('aws-cdk-lib'), import('../../lib/broadcast-stack')]);
  const outdir = mkdtempSync(path.join(tmpdir(), 'broadcast-synth-'));
  try {
    // The feature flags cdk deploy uses (cdk.json); an empty list of bundling stacks skips esbuild:
    // the asset is never read, only the policies.
    const flags = (JSON.parse(readFileSync(path.join(ROOT, 'cdk.json'), 'utf8')) as { context?: Record<string, unknown> }).context ?? {};
    const app = new App({ outdir, context: { ...flags, 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, STACK_NAME, { broadcast: { stageName: local.stageName, lifecycleEvents: local.lifecycleEvents } });
    variant?.(stack);
    return app.synth().getStackByName(STACK_NAME).template as Template;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** The handler is the function whose environment names the connections table. */
function policyOf(template: Template, local: LocalResources): DerivedPolicy {
  const resources = template.Resources;
  const handlerId = Object.keys(resources).find(
    (id) =>
      resources[id].Type === 'AWS::Lambda::Function' &&
      (resources[id].Properties as FunctionProperties | undefined)?.Environment?.Variables?.[ENV.connectionsTable],
  );
  if (!handlerId) throw new Error('The synthesized stack has no handler function');
  const handler = resources[handlerId].Properties as FunctionProperties;
  const roleId = handler.Role?.['Fn::GetAtt']?.[0];
  if (!roleId || resources[roleId]?.Type !== 'AWS::IAM::Role') throw new Error("The handler's role is not a role of the stack");

  // The handler was found by its environment's variables.
  const resolver = new LocalResolver(resources, local, handlerId, handler.Environment!.Variables!);
  const documents = [
    ...((resources[roleId].Properties as RoleProperties | undefined)?.Policies ?? []).map((p) => p.PolicyDocument),
    ...Object.values(resources)
      .filter(
        (r) =>
          r.Type === 'AWS::IAM::Policy' &&
          ((r.Properties as PolicyProperties | undefined)?.Roles ?? []).some((role) => role?.Ref === roleId),
      )
      .map((r) => r.Properties!.PolicyDocument as PolicyDocument),
  ];
  const statements = documents.flatMap((document) => toArray(document.Statement).map((s) => resolver.statement(s)));
  return { roleName: `${STACK_NAME}-${roleId}`, statements };
}

const toArray = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** Resolves CloudFormation references to the local stack's names and ARNs. */
class LocalResolver {
  private readonly refs = new Map<string, string>();

  constructor(
    private readonly resources: Template['Resources'],
    private readonly local: LocalResources,
    handlerId: string,
    deployedEnvironment: Record<string, unknown>,
  ) {
    // A variable set to a plain `Ref` in the deployed environment has the local value of the same
    // variable: the tables' names, the secrets' ARNs.
    for (const [name, value] of Object.entries(deployedEnvironment)) {
      const ref = (value as { Ref?: string } | null)?.Ref;
      if (typeof ref === 'string' && local.environment[name] !== undefined) this.refs.set(ref, local.environment[name]);
    }
    this.refs.set(handlerId, local.functionName);
    for (const [id, resource] of Object.entries(resources)) {
      if (resource.Type === 'AWS::ApiGatewayV2::Api') {
        this.refs.set(id, resource.Properties?.ProtocolType === 'WEBSOCKET' ? local.webSocketApiId : local.httpApiId);
      }
      if (resource.Type === 'AWS::ApiGatewayV2::Stage') this.refs.set(id, local.stageName);
      if (resource.Type === 'AWS::IAM::Role') this.refs.set(id, `${STACK_NAME}-${id}`);
    }
  }

  statement(raw: Record<string, unknown>): Statement {
    if (raw.Effect !== 'Allow' && raw.Effect !== 'Deny') throw new Error(`A policy statement has Effect ${String(raw.Effect)}`);
    const list = (key: string) => (raw[key] === undefined ? undefined : toArray(raw[key]).map((v) => this.resolve(v)));
    return {
      effect: raw.Effect,
      actions: list('Action'),
      notActions: list('NotAction'),
      resources: list('Resource'),
      notResources: list('NotResource'),
    };
  }

  resolve(value: unknown): string {
    const resolved = this.value(value);
    if (typeof resolved !== 'string') throw new Error(`A policy value resolves to a list: ${JSON.stringify(value)}`);
    return resolved;
  }

  private value(value: unknown): string | string[] {
    if (typeof value === 'string') return value;
    if (typeof value !== 'object' || value === null) throw new Error(`Unexpected policy value ${JSON.stringify(value)}`);
    const [[fn, args]] = Object.entries(value) as [[string, unknown]];
    // A list, but for `Ref` and the string form of `Fn::Sub`; names and delimiters are strings.
    const params = args as readonly unknown[];
    switch (fn) {
      case 'Ref':
        return this.ref(args as string);
      case 'Fn::GetAtt':
        return this.getAtt(params[0] as string, params[1] as string);
      case 'Fn::Join':
        return (params[1] as unknown[]).map((part) => this.resolve(part)).join(params[0] as string);
      case 'Fn::Select':
        return toArray(this.value(params[1]))[Number(params[0])];
      case 'Fn::Split':
        return this.resolve(params[1]).split(params[0] as string);
      case 'Fn::Sub': {
        const [text, variables]: readonly [string, Record<string, unknown>] =
          typeof args === 'string' ? [args, {}] : (args as [string, Record<string, unknown>]);
        return text.replace(/\$\{([^}!][^}]*)\}/g, (_: string, name: string) => {
          if (variables[name] !== undefined) return this.resolve(variables[name]);
          const [id, attribute] = name.split('.');
          return attribute ? this.getAtt(id, attribute) : this.ref(id);
        });
      }
      default:
        throw new Error(`The local stack cannot resolve ${fn} in the handler's policy`);
    }
  }

  private ref(id: string): string {
    const pseudo: Record<string, string> = {
      'AWS::Partition': 'aws',
      'AWS::Region': this.local.region,
      'AWS::AccountId': this.local.account,
      'AWS::URLSuffix': 'amazonaws.com',
      'AWS::StackName': STACK_NAME,
    };
    const value = pseudo[id] ?? this.refs.get(id);
    if (value === undefined) throw this.unknown(id);
    return value;
  }

  private getAtt(id: string, attribute: string): string {
    const type = this.resources[id]?.Type;
    const { region, account } = this.local;
    if (attribute === 'Arn') {
      switch (type) {
        case 'AWS::DynamoDB::Table':
          return `arn:aws:dynamodb:${region}:${account}:table/${this.ref(id)}`;
        case 'AWS::Lambda::Function':
          return `arn:aws:lambda:${region}:${account}:function:${this.ref(id)}`;
        case 'AWS::IAM::Role':
          return `arn:aws:iam::${account}:role/${this.ref(id)}`;
        // The failure destination: Lambda itself sends to it with the role, the handler never does.
        case 'AWS::SQS::Queue':
          return `arn:aws:sqs:${region}:${account}:${STACK_NAME}-${id}`;
      }
    }
    throw this.unknown(`${id}.${attribute}`);
  }

  private unknown(what: string): Error {
    const type = this.resources[what.split('.')[0]]?.Type ?? 'an unknown resource';
    return new Error(
      `The handler's policy refers to ${what} (${type}), which the local stack has no stand-in for: add one in local/iam/derive.ts`,
    );
  }
}

function defaultCacheDir(): string {
  return path.join(ROOT, 'node_modules', '.cache', 'realtime-broadcast');
}

/** Everything the derived policy depends on. */
function cacheKey(local: LocalResources): string {
  const hash = createHash('sha256').update(JSON.stringify(local));
  const files = (dir: string): string[] =>
    readdirSync(path.join(ROOT, dir), { withFileTypes: true })
      .flatMap((entry) => (entry.isDirectory() ? files(path.join(dir, entry.name)) : [path.join(dir, entry.name)]))
      .sort();
  for (const file of [...files('lib'), ...files('lambda/contract'), 'local/iam/derive.ts', 'cdk.json']) {
    hash.update(file).update(readFileSync(path.join(ROOT, file)));
  }
  hash.update(readFileSync(require.resolve('aws-cdk-lib/package.json')));
  return hash.digest('hex').slice(0, 32);
}

function writeAtomically(file: string, text: string): void {
  try {
    mkdirSync(path.dirname(file), { recursive: true });
    const partial = `${file}.${process.pid}.tmp`;
    writeFileSync(partial, text);
    renameSync(partial, file);
  } catch {
    // A read-only tree only loses the cache.
  }
}
