/**
 * The AwsSolutions (cdk-nag) findings this construct accepts, each with why. Recorded with
 * `Validations.of(...).acknowledge`, so an app that runs cdk-nag sees zero unacknowledged findings
 * from it, and a new finding fails the construct's tests.
 */
import { Stack, Token, Validations } from 'aws-cdk-lib';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import type { Construct } from 'constructs';

export interface NagSubjects {
  readonly scope: Construct;
  /** Tables whose grants cover their indexes (`<table>/index/*`). */
  readonly indexedTables: readonly Table[];
  /** Tables that hold only live or short-lived data. */
  readonly ephemeralTables: readonly Table[];
  readonly webSocketApiLogicalId: string;
  readonly stageName: string;
  /** The handler's failure destination (a queue of Lambda's on-failure records). */
  readonly failureDestination: Construct;
  /** The Pusher endpoint's CloudFront distribution, when it is on. */
  readonly pusherDistribution?: Construct;
}

/** How cdk-nag renders a value in a finding's id: unresolved pseudo parameters as `<AWS::Region>`. */
const rendered = (value: string, pseudo: string) => (Token.isUnresolved(value) ? `<${pseudo}>` : value);

export function acknowledgeNagFindings({
  scope,
  indexedTables,
  ephemeralTables,
  webSocketApiLogicalId,
  stageName,
  failureDestination,
  pusherDistribution,
}: NagSubjects): void {
  const stack = Stack.of(scope);
  const acknowledge = (construct: Construct, id: string, reason: string) =>
    Validations.of(construct).acknowledge({ id: `AwsSolutions::AwsSolutions-${id}`, reason });

  acknowledge(
    scope,
    'APIG4',
    'Authorization is the handler’s, on every route: the HTTP API checks a Bearer key (master or project, compared in constant time), the WebSocket $connect a client token (JWT) or the project’s anonymousConnect setting. An API Gateway authorizer would add a second invocation per request and cannot express per-project rules.',
  );
  acknowledge(
    scope,
    'L1',
    'Node.js 22 is the runtime the handler is built and tested for; moving to a newer one is a deliberate, tested change.',
  );
  acknowledge(
    scope,
    'IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    'The basic execution policy only lets the function write its own logs.',
  );
  acknowledge(
    scope,
    'IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
    'API Gateway’s account-wide logging role is defined by AWS for exactly this use; WebSocket access logs need it.',
  );
  acknowledge(
    scope,
    'SMG4',
    'The master key is rotated by its operator (the handler accepts the previous version for a grace window); the sealing secret must never rotate, or sealed project keys would no longer open.',
  );
  for (const table of indexedTables) {
    const logicalId = stack.getLogicalId(table.node.defaultChild as never);
    acknowledge(
      scope,
      `IAM5[Resource::<${logicalId}.Arn>/index/*]`,
      'Grants on a table cover its own secondary indexes, which the stores Query.',
    );
  }
  const region = rendered(stack.region, 'AWS::Region');
  const account = rendered(stack.account, 'AWS::AccountId');
  acknowledge(
    scope,
    `IAM5[Resource::arn:<AWS::Partition>:execute-api:${region}:${account}:<${webSocketApiLogicalId}>/${stageName}/*/@connections/*]`,
    'Connection ids are not known in advance: the grant is every connection of this API’s stage, nothing else.',
  );
  acknowledge(
    failureDestination,
    'SQS3',
    'This queue is itself where failures end: Lambda’s on-failure records of background tasks it gave up, kept 14 days for an operator (an alarm watches it). Nothing consumes it, so nothing can fail to.',
  );
  if (pusherDistribution) acknowledgePusherEndpoint(pusherDistribution, acknowledge);
  for (const table of ephemeralTables) {
    acknowledge(
      table,
      'DDB3',
      'Holds only live or short-lived data (connections, subscriptions, usage counts, retained messages); a restore would bring back dead connections.',
    );
  }
}

/** The Pusher endpoint's distribution: a pass-through for WebSocket handshakes to API Gateway. */
function acknowledgePusherEndpoint(distribution: Construct, acknowledge: (construct: Construct, id: string, reason: string) => void): void {
  acknowledge(
    distribution,
    'CFR1',
    'Pusher clients connect from wherever an application’s users are; who may connect is the handler’s decision (app key, project rules), as on the WebSocket API itself.',
  );
  acknowledge(
    distribution,
    'CFR2',
    'No WAF: the function refuses anything but a Pusher handshake, and API Gateway’s stage and $connect throttles apply behind it, as for direct connections. A web ACL costs $5 a month idle; attach one to the distribution if you need it.',
  );
  acknowledge(
    distribution,
    'CFR3',
    'Every connection that passes the function is logged by the WebSocket stage’s access log ($connect, with its status); CloudFront’s own logs would need an S3 bucket to keep.',
  );
  acknowledge(
    distribution,
    'CFR4',
    'The distribution uses CloudFront’s default *.cloudfront.net certificate, whose minimum TLS version CloudFront fixes; a custom domain with its own certificate can require TLS 1.2.',
  );
}
