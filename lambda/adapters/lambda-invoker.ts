import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import type { AsyncInvoker, BackgroundTask } from '../ports';

/**
 * Runs a task in a new invocation of this same function, without waiting for it: the way to act
 * after `$connect` has returned, since `PostToConnection` fails while `$connect` runs.
 */
export class LambdaSelfInvoker implements AsyncInvoker {
  constructor(
    private readonly client: LambdaClient,
    private readonly functionName: string,
  ) {}

  async invoke(task: BackgroundTask): Promise<void> {
    await this.client.send(
      new InvokeCommand({ FunctionName: this.functionName, InvocationType: 'Event', Payload: Buffer.from(JSON.stringify(task)) }),
    );
  }
}
