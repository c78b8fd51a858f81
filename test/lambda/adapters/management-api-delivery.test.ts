import {
  ApiGatewayManagementApiClient,
  ApiGatewayManagementApiServiceException,
  ForbiddenException,
  GoneException,
  LimitExceededException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { mockClient } from 'aws-sdk-client-mock';
import { ManagementApiDelivery, managementClientFor } from '../../../lambda/adapters/management-api-delivery';

const api = mockClient(ApiGatewayManagementApiClient);
const meta = (status: number) => ({ $metadata: { httpStatusCode: status }, message: 'x' });
const gone = () => new GoneException(meta(410));
const throttled = () => new LimitExceededException(meta(429));
const serverError = () =>
  new ApiGatewayManagementApiServiceException({ name: 'InternalServerError', $fault: 'server', ...meta(500) });

function delivery(sleeps: number[] = []) {
  return new ManagementApiDelivery(new ApiGatewayManagementApiClient({ region: 'us-east-1' }), {
    attempts: 3,
    baseDelayMs: 100,
    sleep: async (ms) => void sleeps.push(ms),
    random: () => 0.5,
  });
}

beforeEach(() => api.reset());

describe('ManagementApiDelivery', () => {
  it('posts the message to the connection', async () => {
    api.on(PostToConnectionCommand).resolves({});
    expect(await delivery().post('abc=', '{"hello":1}')).toBe('sent');
    expect(api).toHaveReceivedCommandWith(PostToConnectionCommand, { ConnectionId: 'abc=', Data: '{"hello":1}' });
  });

  it('reports 410 as gone without retrying', async () => {
    api.on(PostToConnectionCommand).rejects(gone());
    expect(await delivery().post('abc=', 'm')).toBe('gone');
    expect(api).toHaveReceivedCommandTimes(PostToConnectionCommand, 1);
  });

  it('retries throttling with growing, jittered waits, then succeeds', async () => {
    const sleeps: number[] = [];
    api.on(PostToConnectionCommand).rejectsOnce(throttled()).rejectsOnce(serverError()).resolves({});
    expect(await delivery(sleeps).post('abc=', 'm')).toBe('sent');
    expect(api).toHaveReceivedCommandTimes(PostToConnectionCommand, 3);
    expect(sleeps).toEqual([100, 200]); // random 0.5 × 100 × 2¹, × 2²
  });

  it('gives up after the last attempt and reports failed', async () => {
    api.on(PostToConnectionCommand).rejects(throttled());
    expect(await delivery().post('abc=', 'm')).toBe('failed');
    expect(api).toHaveReceivedCommandTimes(PostToConnectionCommand, 3);
  });

  it('does not retry a 403', async () => {
    api.on(PostToConnectionCommand).rejects(new ForbiddenException(meta(403)));
    expect(await delivery().post('abc=', 'm')).toBe('failed');
    expect(api).toHaveReceivedCommandTimes(PostToConnectionCommand, 1);
  });

  it('passes an abort signal on every call', async () => {
    api.on(PostToConnectionCommand).resolves({});
    const sendSpy = jest.spyOn(ApiGatewayManagementApiClient.prototype, 'send');
    await delivery().post('abc=', 'm');
    expect(sendSpy.mock.calls[0][1]).toEqual({ abortSignal: expect.any(AbortSignal) });
    sendSpy.mockRestore();
  });
});

describe('managementClientFor', () => {
  it('makes one client per endpoint', () => {
    const a = managementClientFor('https://a.example/production');
    expect(managementClientFor('https://a.example/production')).toBe(a);
    expect(managementClientFor('https://b.example/production')).not.toBe(a);
  });
});
