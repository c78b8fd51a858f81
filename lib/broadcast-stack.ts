import { CfnOutput, Stack, StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { RealtimeBroadcast, RealtimeBroadcastProps } from './realtime-broadcast';

export interface BroadcastStackProps extends StackProps {
  readonly broadcast?: RealtimeBroadcastProps;
}

/** A deployable stack: the {@link RealtimeBroadcast} construct and the outputs a user needs. */
export class BroadcastStack extends Stack {
  public readonly broadcast: RealtimeBroadcast;

  constructor(scope: Construct, id: string, props: BroadcastStackProps = {}) {
    super(scope, id, props);
    this.broadcast = new RealtimeBroadcast(this, 'Broadcast', props.broadcast);

    new CfnOutput(this, 'WebSocketUrl', { value: this.broadcast.webSocketUrl, description: 'Connect clients here' });
    new CfnOutput(this, 'BroadcastUrl', {
      value: this.broadcast.broadcastUrl,
      description: 'POST messages here with Authorization: Bearer <access key>',
    });
    new CfnOutput(this, 'DashboardUrl', { value: this.broadcast.dashboardUrl, description: 'The CloudWatch dashboard' });
    new CfnOutput(this, 'AccessKeySecretArn', { value: this.broadcast.accessKeySecret.secretArn });
    new CfnOutput(this, 'GetAccessKeyCommand', {
      value: `aws secretsmanager get-secret-value --region ${this.region} --secret-id ${this.broadcast.accessKeySecret.secretArn} --query SecretString --output text`,
      description: 'Prints the access key',
    });
  }
}
