import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, CfnOutput, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { ENV } from '../../lambda/contract/config';
import { HTTP_ROUTE_KEYS, WEBSOCKET_ACTIONS } from '../../lambda/contract/routes';
import { BroadcastStack } from '../../lib/broadcast-stack';
import { RealtimeBroadcast, RealtimeBroadcastProps } from '../../lib/realtime-broadcast';

const ENVIRONMENT = { account: '123456789012', region: 'eu-west-1' };

function synth(props?: RealtimeBroadcastProps) {
  const stack = new BroadcastStack(new App(), 'Test', { env: ENVIRONMENT, broadcast: props });
  return { stack, template: Template.fromStack(stack) };
}

const { stack, template } = synth();
const ref = (construct: { node: { defaultChild?: unknown } }) => ({ Ref: stack.getLogicalId(construct.node.defaultChild as never) });
const wsApiRef = ref(stack.broadcast.webSocketApi);

/** The handler's asset folder in the synthesized cloud assembly (bundled by esbuild). */
function handlerAsset(s: Stack): string {
  const { directory } = (s.node.root as App).synth();
  const assets = readdirSync(directory).filter((d) => d.startsWith('asset.') && existsSync(join(directory, d, 'index.js')));
  expect(assets).toHaveLength(1);
  return join(directory, assets[0]);
}

/** Every IAM statement attached to the handler's role. */
function handlerStatements(t: Template) {
  return Object.values(t.findResources('AWS::IAM::Policy')).flatMap(
    (policy) => (policy as { Properties: { PolicyDocument: { Statement: unknown[] } } }).Properties.PolicyDocument.Statement,
  ) as { Action: string | string[]; Resource: unknown }[];
}

describe('WebSocket API', () => {
  it('selects routes on the body’s action', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      ProtocolType: 'WEBSOCKET',
      RouteSelectionExpression: '$request.body.action',
    });
  });

  it.each(['$connect', '$disconnect', '$default', ...WEBSOCKET_ACTIONS])('has the %s route on the WebSocket API', (routeKey) => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', { ApiId: wsApiRef, RouteKey: routeKey });
  });

  it('gives $default and each action a route response, and not $connect or $disconnect', () => {
    const withResponse = ['$default', ...WEBSOCKET_ACTIONS];
    for (const routeKey of withResponse) {
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: routeKey, RouteResponseSelectionExpression: '$default' });
    }
    for (const routeKey of ['$connect', '$disconnect']) {
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: routeKey, RouteResponseSelectionExpression: Match.absent() });
    }
    template.resourcePropertiesCountIs('AWS::ApiGatewayV2::RouteResponse', { RouteResponseKey: '$default' }, withResponse.length);
  });

  it('integrates every route with the one handler as a Lambda proxy', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
      ApiId: wsApiRef,
      IntegrationType: 'AWS_PROXY',
      IntegrationUri: Match.objectLike({
        'Fn::Join': Match.arrayWith([
          Match.arrayWith([{ 'Fn::GetAtt': [stack.getLogicalId(stack.broadcast.handler.node.defaultChild as never), 'Arn'] }]),
        ]),
      }),
    });
  });

  it('makes the stage wait for every route its settings name (CreateStage refuses a setting for a missing route)', () => {
    const [stage] = Object.values(template.findResources('AWS::ApiGatewayV2::Stage', { Properties: { ApiId: wsApiRef } }));
    const routes = template.findResources('AWS::ApiGatewayV2::Route', { Properties: { ApiId: wsApiRef } });
    const routeIdOf = (key: string) => Object.keys(routes).find((id) => routes[id].Properties.RouteKey === key);
    expect(Object.keys(stage.Properties.RouteSettings)).toEqual(['$connect']);
    for (const key of Object.keys(stage.Properties.RouteSettings)) expect(stage.DependsOn).toContain(routeIdOf(key));
  });

  it('deploys a production stage automatically, with throttling', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      ApiId: wsApiRef,
      StageName: 'production',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 1000, ThrottlingBurstLimit: 500 },
    });
  });
});

describe('HTTP API', () => {
  it.each([...HTTP_ROUTE_KEYS])('has %s', (routeKey) => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', { ApiId: ref(stack.broadcast.httpApi), RouteKey: routeKey });
  });

  it('sends every other path to the handler through $default, with the same integration as the routes', () => {
    const httpApi = ref(stack.broadcast.httpApi);
    const routes = template.findResources('AWS::ApiGatewayV2::Route', { Properties: { ApiId: httpApi } });
    const byKey = new Map(Object.values(routes).map((route: any) => [route.Properties.RouteKey, route.Properties.Target]));
    expect(byKey.has('$default')).toBe(true);
    expect(byKey.get('$default')).toEqual(byKey.get('POST /broadcast'));
    expect(byKey.size).toBe(HTTP_ROUTE_KEYS.length + 1);
  });

  it('lets each API invoke the handler through one permission covering its every route and stage, not one per route', () => {
    const permissions = Object.values(template.findResources('AWS::Lambda::Permission'));
    expect(permissions).toHaveLength(2);
    const handlerArn = { 'Fn::GetAtt': [stack.getLogicalId(stack.broadcast.handler.node.defaultChild as never), 'Arn'] };
    for (const api of [stack.broadcast.webSocketApi, stack.broadcast.httpApi]) {
      expect(permissions).toContainEqual({
        Type: 'AWS::Lambda::Permission',
        Properties: {
          Action: 'lambda:InvokeFunction',
          FunctionName: handlerArn,
          Principal: 'apigateway.amazonaws.com',
          SourceArn: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':execute-api:eu-west-1:123456789012:', ref(api), '/*']] },
        },
      });
    }
  });

  it('uses payload format 2.0', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
      ApiId: ref(stack.broadcast.httpApi),
      IntegrationType: 'AWS_PROXY',
      PayloadFormatVersion: '2.0',
    });
  });
});

describe('handler', () => {
  it('runs Node.js 22 on arm64 with its configuration from the shared names', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      MemorySize: 512,
      Timeout: 29,
      Environment: {
        Variables: Match.objectLike({
          [ENV.connectionsTable]: ref(stack.broadcast.connectionsTable),
          [ENV.subscriptionsTable]: ref(stack.broadcast.subscriptionsTable),
          [ENV.apiKeysTable]: ref(stack.broadcast.apiKeysTable),
          [ENV.usageTable]: ref(stack.broadcast.usageTable),
          [ENV.retainedTable]: ref(stack.broadcast.retainedTable),
          [ENV.projectsTable]: ref(stack.broadcast.projectsTable),
          [ENV.publishesTable]: ref(stack.broadcast.publishesTable),
          [ENV.deliveryRatePerSecond]: '8000',
          [ENV.backgroundFanoutAbove]: '2000',
          [ENV.requireToken]: 'false',
          [ENV.accessKeySecretArn]: ref(stack.broadcast.accessKeySecret),
          [ENV.sealingSecretArn]: ref(stack.broadcast.sealingSecret),
          [ENV.masterKeyGraceSeconds]: '86400',
          [ENV.fanoutConcurrency]: '100',
          [ENV.managementEndpoint]: {
            'Fn::Join': ['', ['https://', wsApiRef, '.execute-api.eu-west-1.', { Ref: 'AWS::URLSuffix' }, '/production']],
          },
          NODE_OPTIONS: '--enable-source-maps',
        }),
      },
    });
  });

  // 450 KB: 398 KB before the operations layer, per-user limits and the shared delivery budget (409 KB
  // after), 425 KB with background tasks' progress records, 440 KB with Pusher's WebSocket protocol;
  // the SDK's credential chain alone would add ~100 KB.
  // 450 KB until the rest of Pusher (issue 28: continuity, webhooks, watchlists, counts) added 26 KB.
  it('is bundled under 480 KB, without the SDK’s credential chain (the environment’s credentials replace it)', () => {
    const asset = handlerAsset(stack);
    const code = readFileSync(join(asset, 'index.js'), 'utf8');
    expect(Buffer.byteLength(code)).toBeLessThan(480 * 1024);
    expect(code).not.toContain('AWS_WEB_IDENTITY_TOKEN_FILE'); // the web identity provider
    expect(code).not.toContain('sso_start_url'); // the SSO provider
    expect(code).toContain('AWS_SECRET_ACCESS_KEY');
    // The console's files beside it, not in it.
    expect(existsSync(join(asset, 'console', 'page.html'))).toBe(true);
    expect(existsSync(join(asset, 'console', 'app.js'))).toBe(true);
    expect(code).not.toContain('Realtime broadcast console');
  });

  it('reads the namespace defaults from the file beside its bundle at cold start, and refuses to start on a bad or missing one', () => {
    const copy = mkdtempSync(join(tmpdir(), 'handler-'));
    try {
      cpSync(handlerAsset(stack), copy, { recursive: true });
      // The deployed environment, with plain values for the references.
      const variables =
        template.findResources('AWS::Lambda::Function')[stack.getLogicalId(stack.broadcast.handler.node.defaultChild as never)].Properties
          .Environment.Variables;
      const env = Object.fromEntries(
        Object.entries(variables).map(([name, value]) => [name, typeof value === 'string' ? value : `resolved-${name}`]),
      );
      const coldStart = () =>
        execFileSync(process.execPath, ['-e', `require(${JSON.stringify(join(copy, 'index.js'))}); console.log('started')`], {
          env: {
            PATH: process.env.PATH,
            ...env,
            AWS_REGION: 'eu-west-1',
            AWS_ACCESS_KEY_ID: 'AKIDLOCALTEST',
            AWS_SECRET_ACCESS_KEY: 'local-test',
            AWS_LAMBDA_FUNCTION_NAME: 'handler',
            MANAGEMENT_ENDPOINT: 'https://abc.execute-api.eu-west-1.amazonaws.com/production',
            NODE_OPTIONS: '',
          },
          encoding: 'utf8',
          stdio: 'pipe',
        });
      expect(env[ENV.namespacesFile]).toBe('namespaces.json');
      expect(coldStart()).toContain('started');
      writeFileSync(join(copy, 'namespaces.json'), JSON.stringify({ chat: { history: { size: 5000, ttlSeconds: 60 } } }));
      expect(coldStart).toThrow(/NAMESPACES_FILE \(namespaces\.json\): namespace chat: history\.size must be an integer from 1 to 1000/);
      rmSync(join(copy, 'namespaces.json'));
      expect(coldStart).toThrow(/NAMESPACES_FILE: cannot read namespaces\.json beside the handler/);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });

  it('retries a failed background task twice, gives it up after 15 minutes, and keeps what it gave up in an encrypted queue', () => {
    const queue = stack.getLogicalId(stack.broadcast.failedTasks.node.defaultChild as never);
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: ref(stack.broadcast.handler),
      Qualifier: '$LATEST',
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 900,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [queue, 'Arn'] } } },
    });
    template.hasResourceProperties('AWS::SQS::Queue', { MessageRetentionPeriod: 14 * 24 * 3600, SqsManagedSseEnabled: true });
    // Lambda sends the records with the function's role; the handler's environment says the same age.
    expect(JSON.stringify(handlerStatements(template))).toContain(`{"Fn::GetAtt":["${queue}","Arn"]}`);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ [ENV.taskMaxAgeSeconds]: '900' }) },
    });
    const longer = synth({ backgroundTaskMaxAge: Duration.hours(1) }).template;
    longer.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { MaximumEventAgeInSeconds: 3600 });
    longer.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ [ENV.taskMaxAgeSeconds]: '3600' }) },
    });
  });

  it('logs to its own log group with a retention', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      LoggingConfig: { LogGroup: { Ref: Match.stringLikeRegexp('HandlerLogs') } },
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });
});

describe('tables', () => {
  it.each([
    ['connections', [{ AttributeName: 'connectionId', KeyType: 'HASH' }], 'expiresAt'],
    [
      'subscriptions',
      [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      'ttl',
    ],
    [
      'usage',
      [
        { AttributeName: 'projectId', KeyType: 'HASH' },
        { AttributeName: 'period', KeyType: 'RANGE' },
      ],
      'expiresAt',
    ],
    [
      'retained',
      [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      'ttl',
    ],
    ['publishes', [{ AttributeName: 'id', KeyType: 'HASH' }], 'ttl'],
  ])('%s: on demand, TTL on, AWS-managed encryption, no PITR, deleted with the stack', (_, keySchema, ttl) => {
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Delete',
      Properties: Match.objectLike({
        KeySchema: keySchema,
        BillingMode: 'PAY_PER_REQUEST',
        TimeToLiveSpecification: { AttributeName: ttl, Enabled: true },
        SSESpecification: { SSEEnabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: false },
      }),
    });
  });

  it('keeps API keys: retained on stack deletion, with PITR, no TTL', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({
        KeySchema: [{ AttributeName: 'projectId', KeyType: 'HASH' }],
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        TimeToLiveSpecification: Match.absent(),
        SSESpecification: { SSEEnabled: true },
      }),
    });
  });

  it('keeps project settings like keys: retained, with PITR, no TTL, read and written by item only', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({
        KeySchema: [
          { AttributeName: 'projectId', KeyType: 'HASH' },
          { AttributeName: 'item', KeyType: 'RANGE' },
        ],
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        TimeToLiveSpecification: Match.absent(),
      }),
    });
    const statements = handlerStatements(template);
    const actionsOf = (statement: { Action: string | string[] }) =>
      Array.isArray(statement.Action) ? statement.Action : [statement.Action];
    const onProjects = statements.filter((statement: { Resource: unknown }) =>
      JSON.stringify(statement.Resource).includes(stack.getLogicalId(stack.broadcast.projectsTable.node.defaultChild as never)),
    );
    expect(onProjects.flatMap(actionsOf).sort()).toEqual([
      'dynamodb:BatchGetItem',
      'dynamodb:DeleteItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
    ]);
  });

  it('indexes what status and key lookups query, so no request path scans', () => {
    const indexes = Object.values(template.findResources('AWS::DynamoDB::Table')).flatMap((table) =>
      (table.Properties.GlobalSecondaryIndexes ?? []).map((index: { IndexName: string; KeySchema: unknown }) => [
        index.IndexName,
        index.KeySchema,
      ]),
    );
    expect(indexes).toEqual(
      expect.arrayContaining([
        [
          'byProject',
          [
            { AttributeName: 'projectId', KeyType: 'HASH' },
            { AttributeName: 'connectedAt', KeyType: 'RANGE' },
          ],
        ],
        ['byProject', [{ AttributeName: 'p', KeyType: 'HASH' }]],
        ['byKeyHash', [{ AttributeName: 'keyHash', KeyType: 'HASH' }]],
        [
          'listing',
          [
            { AttributeName: 'listing', KeyType: 'HASH' },
            { AttributeName: 'projectId', KeyType: 'RANGE' },
          ],
        ],
      ]),
    );
  });

  it('follows tableRemovalPolicy for the live-data tables and apiKeysRemovalPolicy for keys', () => {
    const kept = synth({ tableRemovalPolicy: RemovalPolicy.RETAIN, apiKeysRemovalPolicy: RemovalPolicy.DESTROY }).template;
    const policies = Object.values(kept.findResources('AWS::DynamoDB::Table'))
      .map((t) => t.DeletionPolicy)
      .sort();
    // Keys and settings follow apiKeysRemovalPolicy; the six live-data tables tableRemovalPolicy.
    expect(policies).toEqual(['Delete', 'Delete', 'Retain', 'Retain', 'Retain', 'Retain', 'Retain', 'Retain']);
  });
});

describe('access key secret', () => {
  it('is generated: 48 characters, no punctuation', () => {
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: { PasswordLength: 48, ExcludePunctuation: true, IncludeSpace: false },
    });
  });

  it('uses an existing secret when given one, creating only the sealing secret', () => {
    const stack2 = new Stack(new App(), 'Existing', { env: ENVIRONMENT });
    const existing = Secret.fromSecretCompleteArn(stack2, 'Key', 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:my-key-AbCdEf');
    new RealtimeBroadcast(stack2, 'Broadcast', { accessKeySecret: existing });
    const t = Template.fromStack(stack2);
    t.resourceCountIs('AWS::SecretsManager::Secret', 1);
    t.hasResourceProperties('AWS::SecretsManager::Secret', { GenerateSecretString: Match.objectLike({ PasswordLength: 64 }) });
    expect(handlerStatements(t)).toContainEqual(
      expect.objectContaining({ Resource: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:my-key-AbCdEf' }),
    );
  });
});

describe('IAM', () => {
  const statements = handlerStatements(template);
  const actionsOf = (s: { Action: string | string[] }) => (Array.isArray(s.Action) ? s.Action : [s.Action]);

  it('lets the handler manage connections on this stage’s @connections only', () => {
    const manage = statements.filter((s) => actionsOf(s).includes('execute-api:ManageConnections'));
    expect(manage).toEqual([
      expect.objectContaining({
        Resource: {
          'Fn::Join': [
            '',
            ['arn:', { Ref: 'AWS::Partition' }, ':execute-api:eu-west-1:123456789012:', wsApiRef, '/production/*/@connections/*'],
          ],
        },
      }),
    ]);
  });

  it('lets the handler read its two secrets and nothing else of Secrets Manager', () => {
    const secret = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('secretsmanager:')));
    expect(secret).toEqual([
      expect.objectContaining({ Resource: ref(stack.broadcast.accessKeySecret as Secret) }),
      expect.objectContaining({ Resource: ref(stack.broadcast.sealingSecret) }),
    ]);
    for (const statement of secret) {
      expect(actionsOf(statement)).toEqual(expect.arrayContaining(['secretsmanager:GetSecretValue']));
      expect(actionsOf(statement).every((a) => /^secretsmanager:(GetSecretValue|DescribeSecret)$/.test(a))).toBe(true);
    }
  });

  it('generates a sealing secret, kept when the stack is deleted', () => {
    template.hasResource('AWS::SecretsManager::Secret', {
      Properties: { GenerateSecretString: { PasswordLength: 64, ExcludePunctuation: true, IncludeSpace: false } },
      DeletionPolicy: 'Retain',
    });
  });

  it('grants only the table calls the stores make, never Scan', () => {
    const dynamo = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('dynamodb:')));
    const actions = dynamo.flatMap(actionsOf);
    expect(actions).not.toContain('dynamodb:Scan');
    expect(new Set(actions)).toEqual(
      new Set([
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'dynamodb:DeleteItem',
        'dynamodb:Query',
        'dynamodb:BatchWriteItem',
        'dynamodb:BatchGetItem',
      ]),
    );
    // Index queries need the index ARNs, which the CDK grant adds for tables with indexes.
    const resources = JSON.stringify(dynamo.map((s) => s.Resource));
    expect(resources).toContain('/index/*');
    expect(resources).not.toContain('"*"');
  });

  it('lets the handler invoke itself, and only itself, for background tasks', () => {
    const invoke = statements.filter((s) => actionsOf(s).includes('lambda:InvokeFunction'));
    expect(invoke).toEqual([
      expect.objectContaining({
        Resource: { 'Fn::GetAtt': [stack.getLogicalId(stack.broadcast.handler.node.defaultChild as never), 'Arn'] },
      }),
    ]);
  });

  it('names no wildcard resource', () => {
    for (const statement of statements) expect(statement.Resource).not.toBe('*');
  });
});

describe('history, presence and lifecycle events', () => {
  it('keeps channel state in a table of its own with a TTL, which the handler reads and writes item by item', () => {
    const channels = stack.getLogicalId(stack.broadcast.channelsTable.node.defaultChild as never);
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
    });
    const grant = handlerStatements(template).filter((s) => JSON.stringify(s.Resource).includes(`"${channels}"`));
    expect(grant).toHaveLength(1);
    expect(new Set(grant[0].Action)).toEqual(
      new Set(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:Query']),
    );
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          [ENV.channelsTable]: { Ref: channels },
          [ENV.namespaces]: Match.absent(),
          [ENV.presenceTimeoutSeconds]: '300',
        }),
      },
    });
  });

  it('sends no lifecycle events and grants no EventBridge unless asked', () => {
    expect(JSON.stringify(handlerStatements(template))).not.toContain('events:');
    const variables = Object.values(template.findResources('AWS::Lambda::Function')).map(
      (f) => (f as any).Properties.Environment?.Variables ?? {},
    );
    expect(variables.some((v) => ENV.eventBusName in v)).toBe(false);
  });

  it('passes namespace defaults in a file beside the bundle, the presence timeout, and grants PutEvents on the default bus when lifecycle events are on', () => {
    const namespaces = { chat: { history: { size: 100, ttlSeconds: 86400 }, presence: true } };
    const synthesized = synth({ namespaces, lifecycleEvents: true, presenceTimeout: Duration.minutes(2) });
    const t = synthesized.template;
    t.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          [ENV.namespacesFile]: 'namespaces.json',
          [ENV.namespaces]: Match.absent(),
          [ENV.eventBusName]: 'default',
          [ENV.presenceTimeoutSeconds]: '120',
        }),
      },
    });
    expect(JSON.parse(readFileSync(join(handlerAsset(synthesized.stack), 'namespaces.json'), 'utf8'))).toEqual(namespaces);
    expect(JSON.parse(readFileSync(join(handlerAsset(stack), 'namespaces.json'), 'utf8'))).toEqual({});
    const put = handlerStatements(t).filter((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]).includes('events:PutEvents'));
    expect(put).toEqual([
      expect.objectContaining({
        Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':events:eu-west-1:123456789012:event-bus/default']] },
      }),
    ]);
  });
});

describe('the construct as a library', () => {
  it('exposes its URLs, key secret and tables as properties that turn into outputs in any stack', () => {
    const theirs = new Stack(new App(), 'Theirs', { env: ENVIRONMENT });
    const broadcast = new RealtimeBroadcast(theirs, 'Realtime', { setApiGatewayCloudWatchRole: false });
    const outputs = {
      WebSocketUrl: broadcast.webSocketUrl,
      HttpUrl: broadcast.httpUrl,
      BroadcastUrl: broadcast.broadcastUrl,
      ConsoleUrl: broadcast.consoleUrl,
      DashboardUrl: broadcast.dashboardUrl,
      AccessKeySecretArn: broadcast.accessKeySecret.secretArn,
      ...Object.fromEntries(Object.entries(broadcast.tables).map(([name, table]) => [`${name}Table`, table.tableName])),
    };
    for (const [id, value] of Object.entries(outputs)) new CfnOutput(theirs, id, { value });
    const t = Template.fromStack(theirs);
    const id = (construct: { node: { defaultChild?: unknown } }) => theirs.getLogicalId(construct.node.defaultChild as never);
    const api = (construct: { node: { defaultChild?: unknown } }) => ({ Ref: id(construct) });
    t.hasOutput('WebSocketUrl', {
      Value: {
        'Fn::Join': ['', ['wss://', api(broadcast.webSocketApi), '.execute-api.eu-west-1.', { Ref: 'AWS::URLSuffix' }, '/production']],
      },
    });
    t.hasOutput('HttpUrl', {
      Value: { 'Fn::Join': ['', ['https://', api(broadcast.httpApi), '.execute-api.eu-west-1.', { Ref: 'AWS::URLSuffix' }, '/']] },
    });
    t.hasOutput('BroadcastUrl', {
      Value: { 'Fn::Join': ['', ['https://', api(broadcast.httpApi), '.execute-api.eu-west-1.', { Ref: 'AWS::URLSuffix' }, '/broadcast']] },
    });
    t.hasOutput('ConsoleUrl', {
      Value: { 'Fn::Join': ['', ['https://', api(broadcast.httpApi), '.execute-api.eu-west-1.', { Ref: 'AWS::URLSuffix' }, '/console']] },
    });
    t.hasOutput('DashboardUrl', { Value: { 'Fn::Join': ['', Match.arrayWith([api(broadcast.monitoring.dashboard)])] } });
    t.hasOutput('AccessKeySecretArn', { Value: api(broadcast.accessKeySecret) });
    // Every table of the template, and nothing else, is in `tables`.
    const tableIds = Object.keys(t.findResources('AWS::DynamoDB::Table')).sort();
    expect(Object.values(broadcast.tables).map(id).sort()).toEqual(tableIds);
    for (const [name, table] of Object.entries(broadcast.tables)) t.hasOutput(`${name}Table`, { Value: api(table) });
  });
});

describe('outputs', () => {
  it('gives the wss:// URL, the broadcast URL, the secret ARN and a command that prints the key', () => {
    template.hasOutput('WebSocketUrl', { Value: { 'Fn::Join': ['', Match.arrayWith(['wss://', wsApiRef, '/production'])] } });
    template.hasOutput('BroadcastUrl', { Value: { 'Fn::Join': ['', Match.arrayWith(['https://', '/broadcast'])] } });
    template.hasOutput('AccessKeySecretArn', { Value: ref(stack.broadcast.accessKeySecret) });
    template.hasOutput('FailedTasksQueueUrl', { Value: ref(stack.broadcast.failedTasks) });
    template.hasOutput('GetAccessKeyCommand', {
      Value: {
        'Fn::Join': [
          '',
          Match.arrayWith([
            Match.stringLikeRegexp('^aws secretsmanager get-secret-value --region eu-west-1 --secret-id '),
            ' --query SecretString --output text',
          ]),
        ],
      },
    });
  });
});

describe('props', () => {
  it('applies stage name, memory, concurrency, throttling, requireToken, the master key grace and the background fan-out settings', () => {
    const t = synth({
      stageName: 'live',
      memorySize: 1024,
      fanoutConcurrency: 250,
      throttle: { rateLimit: 50, burstLimit: 20 },
      requireToken: true,
      masterKeyGracePeriod: Duration.hours(2),
      deliveryRatePerSecond: 4000,
      backgroundFanoutAbove: 500,
    }).template;
    t.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          [ENV.requireToken]: 'true',
          [ENV.masterKeyGraceSeconds]: '7200',
          [ENV.deliveryRatePerSecond]: '4000',
          [ENV.backgroundFanoutAbove]: '500',
        }),
      },
    });
    t.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: 'live',
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 20 },
    });
    t.hasResourceProperties('AWS::Lambda::Function', {
      MemorySize: 1024,
      Environment: { Variables: Match.objectLike({ [ENV.fanoutConcurrency]: '250' }) },
    });
  });

  it.each<[string, RealtimeBroadcastProps, RegExp]>([
    ['an existing secret and a generated key length', { accessKeySecret: {} as never, generatedKeyLength: 64 }, /not both/],
    ['a short generated key', { generatedKeyLength: 16 }, /generatedKeyLength/],
    ['a bad stage name', { stageName: 'has space' }, /stageName/],
    ['too little memory', { memorySize: 64 }, /memorySize/],
    ['zero fan-out concurrency', { fanoutConcurrency: 0 }, /fanoutConcurrency/],
    ['a fractional delivery budget', { deliveryRatePerSecond: 0.5 }, /deliveryRatePerSecond/],
    ['a zero background threshold', { backgroundFanoutAbove: 0 }, /backgroundFanoutAbove/],
    ['a negative burst', { throttle: { burstLimit: -1 } }, /throttle/],
    [
      'a history too long',
      { namespaces: { chat: { history: { size: 2000, ttlSeconds: 60 } } } },
      /namespaces: namespace chat: history.size must be an integer from 1 to 1000/,
    ],
    ['a bad namespace name', { namespaces: { 'a:b': { presence: true } } }, /namespaces: namespace "a:b"/],
    [
      '101 namespaces (they would fit the file beside the bundle, but a project holds 100)',
      { namespaces: Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`n${i}`, {}])) },
      /RealtimeBroadcast: namespaces: at most 100 namespaces/,
    ],
    ['a presence timeout too short', { presenceTimeout: Duration.seconds(1) }, /presenceTimeout/],
    ['a background task age under Lambda’s minute', { backgroundTaskMaxAge: Duration.seconds(30) }, /backgroundTaskMaxAge/],
    [
      'a background task age over an hour (a publish’s record is kept two)',
      { backgroundTaskMaxAge: Duration.hours(2) },
      /backgroundTaskMaxAge/,
    ],
  ])('throws at synth on %s', (_, props, message) => {
    expect(() => new RealtimeBroadcast(new Stack(), 'B', props)).toThrow(message);
  });
});
