import { CfnOutput, Stack, StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { RealtimeBroadcast, RealtimeBroadcastProps } from './realtime-broadcast';

/**
 * The stack's settings: a stack's own, and the construct's under `broadcast`.
 * @example
 * new BroadcastStack(app, 'Realtime', { env: { region: 'eu-west-1' }, broadcast: { stageName: 'live' } });
 */
export interface BroadcastStackProps extends StackProps {
  readonly broadcast?: RealtimeBroadcastProps;
}

/**
 * A deployable stack: the {@link RealtimeBroadcast} construct and the outputs a user needs.
 * @example
 * const stack = new BroadcastStack(new App(), 'RealtimeBroadcast', { broadcast: { requireToken: true } });
 */
export class BroadcastStack extends Stack {
  public readonly broadcast: RealtimeBroadcast;

  constructor(scope: Construct, id: string, props: BroadcastStackProps = {}) {
    super(scope, id, props);
    this.broadcast = new RealtimeBroadcast(this, 'Broadcast', props.broadcast);

    new CfnOutput(this, 'WebSocketUrl', { value: this.broadcast.webSocketUrl, description: 'Connect clients here' });
    new CfnOutput(this, 'HttpUrl', {
      value: this.broadcast.httpUrl,
      description: 'The HTTP API (broadcast, api-keys, projects, usage, …)',
    });
    new CfnOutput(this, 'BroadcastUrl', {
      value: this.broadcast.broadcastUrl,
      description: 'POST messages here with Authorization: Bearer <access key>',
    });
    new CfnOutput(this, 'ConsoleUrl', { value: this.broadcast.consoleUrl, description: 'The debug console (sign in with a key)' });
    new CfnOutput(this, 'DashboardUrl', { value: this.broadcast.dashboardUrl, description: 'The CloudWatch dashboard' });
    new CfnOutput(this, 'FailedTasksQueueUrl', {
      value: this.broadcast.failedTasks.queueUrl,
      description: 'Background tasks Lambda gave up (the FailedTasks alarm watches it): aws sqs receive-message --queue-url <this>',
    });
    new CfnOutput(this, 'AccessKeySecretArn', { value: this.broadcast.accessKeySecret.secretArn });
    const getKey = `aws secretsmanager get-secret-value --region ${this.region} --secret-id ${this.broadcast.accessKeySecret.secretArn} --query SecretString --output text`;
    new CfnOutput(this, 'GetAccessKeyCommand', { value: getKey, description: 'Prints the access key' });
    // Ready to paste, in this order.
    new CfnOutput(this, 'TryWebSocket', {
      value: `npx wscat -c ${this.broadcast.webSocketUrl}`,
      description: 'Then send {"action":"subscribe","channel":"admin"}',
    });
    new CfnOutput(this, 'TryBroadcast', {
      value: `curl -X POST ${this.broadcast.broadcastUrl} -H "Authorization: Bearer $(${getKey})" -d '{"channel":"admin","event":"hello","data":{"from":"curl"}}'`,
      description: 'Publishes to the admin channel with the master key',
    });
    new CfnOutput(this, 'CreateProjectKey', {
      value: `curl -X POST ${this.broadcast.httpUrl}api-keys -H "Authorization: Bearer $(${getKey})" -d '{"projectId":"my-app"}'`,
      description: 'Creates the first key of project my-app (shown once)',
    });
    const host = this.broadcast.pusherHost;
    if (host) {
      new CfnOutput(this, 'PusherHost', { value: host, description: "pusher-js's and Laravel Echo's wsHost (the Pusher endpoint)" });
      const options = pusherOptions(host);
      new CfnOutput(this, 'PusherJsConfig', {
        value: `new Pusher('<app key>', { ${options} })`,
        description: "pusher-js: the app key is a project key's prefix (rbk_…); cluster is required by pusher-js and unused with wsHost",
      });
      new CfnOutput(this, 'LaravelEchoConfig', {
        value: `new Echo({ broadcaster: 'pusher', key: '<app key>', ${options} })`,
        description: "Laravel Echo with pusher-js: the app key is a project key's prefix (rbk_…)",
      });
    }
  }
}

/** pusher-js's options for the Pusher endpoint: TLS on 443 and WebSockets only (no fallback to Pusher's own hosts). */
function pusherOptions(host: string): string {
  return `cluster: 'mt1', wsHost: '${host}', wsPort: 443, wssPort: 443, forceTLS: true, enabledTransports: ['ws', 'wss']`;
}
