import type { AsyncInvoker, BackgroundTask } from '../ports';
import { AwsCredentials, AwsHttp, callAws } from './aws-http';

/**
 * Runs a task in a new invocation of this same function, without waiting for it: the way to act
 * after `$connect` has returned, since `PostToConnection` fails while `$connect` runs. Lambda's
 * `Invoke` (`InvocationType: Event`, answered 202) as one signed request: the SDK's Lambda client
 * would add 70 KB to the bundle for this one call.
 */
export class LambdaSelfInvoker implements AsyncInvoker {
  private readonly path: string;

  /** `http` signs for `lambda` with `x-amz-invocation-type: Event` (see {@link lambdaEventInvokeHttp}). */
  constructor(
    private readonly http: AwsHttp,
    functionName: string,
  ) {
    this.path = `/2015-03-31/functions/${encodeURIComponent(functionName)}/invocations`;
  }

  async invoke(task: BackgroundTask): Promise<void> {
    await callAws(this.http, 'POST', this.path, JSON.stringify(task));
  }
}

/** The Lambda API of `region`, every request an asynchronous invocation. */
export const lambdaEventInvokeHttp = (region: string, credentials: AwsCredentials, endpoint?: string) =>
  new AwsHttp({
    endpoint: endpoint ?? `https://lambda.${region}.amazonaws.com`,
    service: 'lambda',
    region,
    credentials,
    maxSockets: 16,
    headers: { 'x-amz-invocation-type': 'Event' },
  });
