/** Background tasks start as asynchronous self-invocations: a signed Invoke to a stand-in that checks signatures as AWS does. */
import { lambdaEventInvokeHttp, LambdaSelfInvoker } from '../../../lambda/adapters/lambda-invoker';
import type { BackgroundTask } from '../../../lambda/ports';
import { AwsJsonStandIn, StandInReply, TEST_AWS } from '../../helpers/aws-json-stand-in';

let answers: StandInReply[] = [];
const standIn = new AwsJsonStandIn('lambda', () => answers.shift() ?? { status: 202 });
let invoker: LambdaSelfInvoker;
let http: ReturnType<typeof lambdaEventInvokeHttp>;
let endpoint: string;

const TASK: BackgroundTask = { task: 'purge', gone: [{ connectionId: 'Lx7B6ePPgRk1N9M=' }] };

beforeAll(async () => {
  endpoint = await standIn.listen();
  http = lambdaEventInvokeHttp(TEST_AWS.region, TEST_AWS.credentials, endpoint);
  invoker = new LambdaSelfInvoker(http, 'Broadcast-Handler_1');
});
afterAll(async () => {
  http.destroy();
  await standIn.close();
});
beforeEach(() => {
  standIn.received.length = 0;
  answers = [];
});

describe('LambdaSelfInvoker', () => {
  it('invokes the function asynchronously with the task as its event, signed as AWS accepts', async () => {
    await invoker.invoke(TASK);
    expect(standIn.rejected).toBe(0);
    expect(standIn.received).toHaveLength(1);
    const [request] = standIn.received;
    expect(request.method).toBe('POST');
    expect(request.path).toBe('/2015-03-31/functions/Broadcast-Handler_1/invocations');
    expect(request.headers['x-amz-invocation-type']).toBe('Event');
    expect(request.headers.authorization).toContain(
      'SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-invocation-type;x-amz-security-token',
    );
    expect(JSON.parse(request.body)).toEqual(TASK);
  });

  it('retries throttling and server errors, then succeeds', async () => {
    answers = [{ status: 429, body: { Type: 'User' }, errorType: 'TooManyRequestsException' }, { status: 500 }];
    await invoker.invoke(TASK);
    expect(standIn.received).toHaveLength(3);
  });

  it('rejects with the error AWS named, so the caller can run the task another way', async () => {
    answers = [{ status: 404, body: { Type: 'User', message: 'Function not found' }, errorType: 'ResourceNotFoundException' }];
    await expect(invoker.invoke(TASK)).rejects.toMatchObject({ name: 'AwsError', errorType: 'ResourceNotFoundException', status: 404 });
    expect(standIn.received).toHaveLength(1);
  });

  it('is refused when its signature is wrong (the stand-in checks it)', async () => {
    const wrong = lambdaEventInvokeHttp(TEST_AWS.region, { ...TEST_AWS.credentials, secretAccessKey: 'not-the-key' }, endpoint);
    try {
      await expect(new LambdaSelfInvoker(wrong, 'Broadcast-Handler_1').invoke(TASK)).rejects.toMatchObject({
        errorType: 'InvalidSignatureException',
        status: 403,
      });
      expect(standIn.rejected).toBe(1);
      expect(standIn.received).toHaveLength(0);
    } finally {
      wrong.destroy();
    }
  });
});
