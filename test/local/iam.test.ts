/**
 * IAM parity: the local stack holds the handler to the policy the construct synthesizes. The
 * evaluation rules, the request → authorization mapping, the derivation from the real stack, and
 * a stack variant missing grants, whose calls fail locally as they would on AWS.
 */
import { DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import { ApiGatewayManagementApiClient, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { CfnPolicy, Policy } from 'aws-cdk-lib/aws-iam';
import { SignatureV4 } from '@smithy/signature-v4';
import { dynamoAuthorizations } from '../../local/aws/dynamodb';
import { decide, RolePolicy, Statement, wildcardMatch } from '../../local/iam/policy';
import { HANDLER_CREDENTIALS, LocalStack, startLocalStack } from '../../local/stack';
import { LOCAL_AWS, LOCAL_TABLES } from '../../local/store';
import { Sha256 } from '../helpers/aws-json-stand-in';
import { TestClient } from '../helpers/clients';
import type { BroadcastStack } from '../../lib/broadcast-stack';

const ACCESS_KEY = 'iam-test-master-key';
const TABLE = (name: string) => `arn:aws:dynamodb:us-east-1:000000000000:table/${name}`;

describe('policy evaluation', () => {
  const statements: Statement[] = [
    { effect: 'Allow', actions: ['dynamodb:Query', 'dynamodb:Get*'], resources: [TABLE('t'), `${TABLE('t')}/index/*`] },
    {
      effect: 'Allow',
      actions: ['execute-api:ManageConnections'],
      resources: ['arn:aws:execute-api:us-east-1:000000000000:api/production/*/@connections/*'],
    },
    { effect: 'Deny', actions: ['dynamodb:GetItem'], resources: [`${TABLE('t')}`] },
    { effect: 'Allow', notActions: ['s3:*'], resources: ['arn:aws:sqs:*'] },
  ];

  it('allows what a statement allows, actions case-insensitively, with IAM wildcards', () => {
    expect(decide(statements, { action: 'dynamodb:Query', resource: TABLE('t') })).toBe('allowed');
    expect(decide(statements, { action: 'DynamoDB:query', resource: `${TABLE('t')}/index/byProject` })).toBe('allowed');
    expect(decide(statements, { action: 'dynamodb:GetRecords', resource: `${TABLE('t')}/index/x` })).toBe('allowed');
    expect(
      decide(statements, {
        action: 'execute-api:ManageConnections',
        resource: 'arn:aws:execute-api:us-east-1:000000000000:api/production/POST/@connections/abc=',
      }),
    ).toBe('allowed');
    expect(decide(statements, { action: 'sqs:SendMessage', resource: 'arn:aws:sqs:us-east-1:000000000000:q' })).toBe('allowed');
  });

  it('denies what nothing allows, resources case-sensitively, and an explicit Deny over any Allow', () => {
    expect(decide(statements, { action: 'dynamodb:Scan', resource: TABLE('t') })).toBe('implicitDeny');
    expect(decide(statements, { action: 'dynamodb:Query', resource: TABLE('T') })).toBe('implicitDeny');
    expect(decide(statements, { action: 'dynamodb:Query', resource: TABLE('t2') })).toBe('implicitDeny');
    expect(
      decide(statements, {
        action: 'execute-api:ManageConnections',
        resource: 'arn:aws:execute-api:us-east-1:000000000000:api/staging/POST/@connections/a',
      }),
    ).toBe('implicitDeny');
    expect(decide(statements, { action: 's3:GetObject', resource: 'arn:aws:sqs:x' })).toBe('implicitDeny');
    expect(decide(statements, { action: 'dynamodb:GetItem', resource: TABLE('t') })).toBe('explicitDeny');
  });

  it('words a refusal as AWS does, naming the caller, the action and the resource', () => {
    const policy = new RolePolicy(statements, 'arn:aws:sts::000000000000:assumed-role/R/f');
    expect(policy.check([{ action: 'dynamodb:Query', resource: TABLE('t') }])).toBeUndefined();
    expect(
      policy.check([
        { action: 'dynamodb:Query', resource: TABLE('t') },
        { action: 'dynamodb:Scan', resource: TABLE('t') },
      ])?.message,
    ).toBe(
      `User: arn:aws:sts::000000000000:assumed-role/R/f is not authorized to perform: dynamodb:Scan on resource: ${TABLE('t')} because no identity-based policy allows the dynamodb:Scan action`,
    );
    expect(policy.check([{ action: 'dynamodb:GetItem', resource: TABLE('t') }])?.message).toMatch(
      /with an explicit deny in an identity-based policy$/,
    );
  });

  it('treats ? as one character and escapes everything else', () => {
    expect(wildcardMatch('a?c', 'abc')).toBe(true);
    expect(wildcardMatch('a?c', 'ac')).toBe(false);
    expect(wildcardMatch('a.c', 'abc')).toBe(false);
    expect(wildcardMatch('arn:*:x', 'arn:a/b:c:x')).toBe(true);
  });
});

describe('DynamoDB authorizations', () => {
  const map = (operation: string, body: unknown) => dynamoAuthorizations(operation, body, 'us-east-1', '000000000000');

  it('asks for the operation on the table, or on the index a Query or Scan reads', () => {
    expect(map('GetItem', { TableName: 't' })).toEqual([{ action: 'dynamodb:GetItem', resource: TABLE('t') }]);
    expect(map('Query', { TableName: 't', IndexName: 'i' })).toEqual([{ action: 'dynamodb:Query', resource: `${TABLE('t')}/index/i` }]);
    expect(map('Scan', { TableName: 't' })).toEqual([{ action: 'dynamodb:Scan', resource: TABLE('t') }]);
    expect(map('ListTables', {})).toEqual([{ action: 'dynamodb:ListTables', resource: '*' }]);
  });

  it('asks for a batch action on every table, and for each transaction item its own action', () => {
    expect(map('BatchWriteItem', { RequestItems: { a: [], b: [] } })).toEqual([
      { action: 'dynamodb:BatchWriteItem', resource: TABLE('a') },
      { action: 'dynamodb:BatchWriteItem', resource: TABLE('b') },
    ]);
    expect(
      map('TransactWriteItems', {
        TransactItems: [
          { Put: { TableName: 'a' } },
          { Update: { TableName: 'b' } },
          { Delete: { TableName: 'a' } },
          { ConditionCheck: { TableName: 'c' } },
        ],
      }),
    ).toEqual([
      { action: 'dynamodb:PutItem', resource: TABLE('a') },
      { action: 'dynamodb:UpdateItem', resource: TABLE('b') },
      { action: 'dynamodb:DeleteItem', resource: TABLE('a') },
      { action: 'dynamodb:ConditionCheckItem', resource: TABLE('c') },
    ]);
  });
});

async function callAsHandler(stack: LocalStack, method: string, path: string, body: string, headers: Record<string, string>) {
  const url = new URL(path, stack.awsEndpoint);
  const service = path.startsWith('/2015-03-31') ? 'lambda' : 'secretsmanager';
  const signer = new SignatureV4({ service, region: 'us-east-1', credentials: HANDLER_CREDENTIALS, sha256: Sha256 });
  const signed = await signer.sign({
    method,
    protocol: 'http:',
    hostname: url.hostname,
    port: Number(url.port),
    path: url.pathname,
    headers: { host: url.host, ...headers },
    body,
  });
  const response = await fetch(url, { method, headers: signed.headers, body });
  return {
    status: response.status,
    errorType: response.headers.get('x-amzn-errortype'),
    json: await response.json().catch(() => null),
  };
}

describe('the handler policy derived from the construct', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startLocalStack({ accessKey: ACCESS_KEY });
  }, 60_000);
  afterAll(() => stack.stop());

  it('grants, resolved to the local resources, each kind of call the handler makes', () => {
    const policy = stack.policy!;
    const allowed = (action: string, resource: string) => policy.check([{ action, resource }]) === undefined;
    expect(policy.principalArn).toMatch(
      /^arn:aws:sts::000000000000:assumed-role\/RealtimeBroadcast-BroadcastHandlerServiceRole\w+\/realtime-broadcast-local$/,
    );
    expect(allowed('dynamodb:Query', `${TABLE(LOCAL_TABLES.subscriptions.name)}/index/byProject`)).toBe(true);
    expect(allowed('dynamodb:BatchWriteItem', TABLE(LOCAL_TABLES.subscriptions.name))).toBe(true);
    expect(
      allowed('execute-api:ManageConnections', 'arn:aws:execute-api:us-east-1:000000000000:local/production/POST/@connections/abc='),
    ).toBe(true);
    expect(allowed('lambda:InvokeFunction', 'arn:aws:lambda:us-east-1:000000000000:function:realtime-broadcast-local')).toBe(true);
    expect(
      allowed('secretsmanager:GetSecretValue', 'arn:aws:secretsmanager:us-east-1:000000000000:secret:realtime-broadcast/access-key-LoCaL0'),
    ).toBe(true);
    // What the construct deliberately never grants.
    expect(allowed('dynamodb:Scan', TABLE(LOCAL_TABLES.subscriptions.name))).toBe(false);
    expect(allowed('dynamodb:PutItem', TABLE(LOCAL_TABLES.apiKeys.name))).toBe(false);
    expect(allowed('lambda:InvokeFunction', 'arn:aws:lambda:us-east-1:000000000000:function:another')).toBe(false);
    expect(allowed('execute-api:ManageConnections', 'arn:aws:execute-api:us-east-1:000000000000:local/staging/POST/@connections/a')).toBe(
      false,
    );
    for (const statement of policy.statements) {
      for (const resource of statement.resources ?? []) expect(resource).toMatch(/^(arn:aws:[a-z-]+:(us-east-1)?:000000000000:|\*$)/);
    }
  });

  it('refuses a Lambda Invoke of another function and a secret the role may not read, as AWS answers', async () => {
    const invoke = await callAsHandler(stack, 'POST', '/2015-03-31/functions/another/invocations', '{}', {
      'x-amz-invocation-type': 'Event',
    });
    expect(invoke).toEqual({
      status: 403,
      errorType: 'AccessDeniedException',
      json: {
        Type: 'User',
        Message: expect.stringContaining(
          'is not authorized to perform: lambda:InvokeFunction on resource: arn:aws:lambda:us-east-1:000000000000:function:another because no identity-based policy allows',
        ),
      },
    });
    const secret = await callAsHandler(stack, 'POST', '/', JSON.stringify({ SecretId: 'someone-elses-secret' }), {
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': 'secretsmanager.GetSecretValue',
    });
    expect(secret.status).toBe(400);
    expect(secret.json).toEqual({
      __type: 'AccessDeniedException',
      Message: expect.stringContaining('secretsmanager:GetSecretValue on resource: someone-elses-secret'),
    });
    const own = await callAsHandler(
      stack,
      'POST',
      '/',
      JSON.stringify({ SecretId: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:realtime-broadcast/access-key-LoCaL0' }),
      {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'secretsmanager.GetSecretValue',
      },
    );
    expect(own).toMatchObject({ status: 200, json: { SecretString: ACCESS_KEY } });
    expect(stack.deniedCalls()).toBe(2);
  });

  it('leaves calls signed with other credentials (an administrator, a test) unchecked', async () => {
    const admin = new DynamoDBClient({ ...LOCAL_AWS, endpoint: stack.awsEndpoint });
    const page = await admin.send(
      new QueryCommand({
        TableName: LOCAL_TABLES.apiKeys.name,
        KeyConditionExpression: 'projectId = :p',
        ExpressionAttributeValues: { ':p': { S: 'x' } },
      }),
    );
    expect(page.Items).toEqual([]);
    admin.destroy();
  });
});

/** The construct with two grants taken away: Query on the subscriptions table's index, and `@connections`. */
function withoutTwoGrants(stack: BroadcastStack): void {
  const policy = stack.broadcast.handler.role!.node.findChild('DefaultPolicy') as Policy;
  const cfn = policy.node.defaultChild as CfnPolicy;
  const statements = stack.resolve(policy.document).Statement as { Action: string | string[]; Resource: unknown }[];
  const subscriptions = stack.resolve(stack.broadcast.subscriptionsTable.tableArn);
  const query = statements.findIndex(
    (s) => s.Action.includes('dynamodb:Query') && JSON.stringify(s.Resource).includes(JSON.stringify(subscriptions)),
  );
  const manage = statements.findIndex((s) => s.Action === 'execute-api:ManageConnections');
  expect([query, manage].every((i) => i >= 0)).toBe(true);
  cfn.addPropertyOverride(`PolicyDocument.Statement.${query}.Resource`, [subscriptions]);
  cfn.addPropertyOverride(`PolicyDocument.Statement.${manage}.Action`, 'execute-api:Invoke');
}

describe('a stack variant missing grants', () => {
  let stack: LocalStack;
  const handlerErrors: unknown[] = [];
  beforeAll(async () => {
    stack = await startLocalStack({
      accessKey: ACCESS_KEY,
      iam: { variant: withoutTwoGrants },
      onHandlerError: (e) => handlerErrors.push(e),
    });
  }, 60_000);
  afterAll(() => stack.stop());

  it('fails the index Query with DynamoDB’s AccessDeniedException, which the SDK surfaces as such', async () => {
    const asHandler = new DynamoDBClient({
      region: 'us-east-1',
      credentials: HANDLER_CREDENTIALS,
      endpoint: stack.awsEndpoint,
      maxAttempts: 1,
    });
    const error = await asHandler
      .send(
        new QueryCommand({
          TableName: LOCAL_TABLES.subscriptions.name,
          IndexName: 'byProject',
          KeyConditionExpression: 'p = :p',
          ExpressionAttributeValues: { ':p': { S: 'x' } },
        }),
      )
      .catch((e: unknown) => e as { name: string; message: string; $metadata: { httpStatusCode: number } });
    expect(error).toMatchObject({
      name: 'AccessDeniedException',
      $metadata: { httpStatusCode: 400 },
      message: `User: ${stack.policy!.principalArn} is not authorized to perform: dynamodb:Query on resource: ${TABLE(LOCAL_TABLES.subscriptions.name)}/index/byProject because no identity-based policy allows the dynamodb:Query action`,
    });
    // The table itself is still granted.
    const table = await asHandler.send(
      new QueryCommand({
        TableName: LOCAL_TABLES.subscriptions.name,
        KeyConditionExpression: 'pk = :p',
        ExpressionAttributeValues: { ':p': { S: 'x' } },
      }),
    );
    expect(table.Items).toEqual([]);
    asHandler.destroy();
  });

  it('makes the product call that needs the index fail, as it would after cdk deploy', async () => {
    const before = stack.deniedCalls();
    const response = await fetch(`${stack.httpUrl}/status?projectId=default`, { headers: { Authorization: `Bearer ${ACCESS_KEY}` } });
    expect(response.status).toBe(500);
    expect(await response.json()).toMatchObject({ code: 'internal_error' });
    expect(stack.deniedCalls()).toBe(before + 1);
  });

  it('refuses @connections with 403 ForbiddenException: a broadcast counts the subscriber as failed', async () => {
    const client = await TestClient.open(stack.webSocketUrl);
    try {
      client.send({ action: 'subscribe', channel: 'news' });
      // Without @connections the `connected` welcome cannot arrive; the route's own answer still does.
      await client.next((m) => m.type === 'subscription_succeeded');
      const response = await fetch(`${stack.httpUrl}/broadcast`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${ACCESS_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ channel: 'news', event: 'e', data: 1 }),
      });
      expect(await response.json()).toMatchObject({ success: true, sent: 0, failed: 1 });
    } finally {
      await client.close();
    }
    const asHandler = new ApiGatewayManagementApiClient({
      region: 'us-east-1',
      credentials: HANDLER_CREDENTIALS,
      endpoint: stack.managementEndpoint,
      maxAttempts: 1,
    });
    const error = await asHandler.send(new PostToConnectionCommand({ ConnectionId: 'abc=', Data: 'x' })).catch((e: unknown) => e as any);
    expect(error.name).toBe('ForbiddenException');
    expect(error.$metadata.httpStatusCode).toBe(403);
    expect(error.message).toContain(
      'is not authorized to perform: execute-api:ManageConnections on resource: arn:aws:execute-api:us-east-1:000000000000:local/production/POST/@connections/abc%3D',
    );
    asHandler.destroy();
  });
});
