/** Lifecycle events go to EventBridge as signed PutEvents calls, checked by a stand-in that verifies signatures as AWS does. */
import { eventBridgeHttp, EventBridgeSink } from '../../../lambda/adapters/eventbridge';
import type { LifecycleEvent } from '../../../lambda/ports';
import { AwsJsonStandIn, StandInReply, TEST_AWS } from '../../helpers/aws-json-stand-in';

let answers: StandInReply[] = [];
const standIn = new AwsJsonStandIn('events', () => answers.shift() ?? { status: 200, body: { FailedEntryCount: 0, Entries: [] } });
let http: ReturnType<typeof eventBridgeHttp>;
let sink: EventBridgeSink;

beforeAll(async () => {
  http = eventBridgeHttp(TEST_AWS.region, TEST_AWS.credentials, await standIn.listen());
  sink = new EventBridgeSink(http, 'my-bus');
});
afterAll(async () => {
  http.destroy();
  await standIn.close();
});
beforeEach(() => {
  standIn.received.length = 0;
  answers = [];
});

const event = (n: number): LifecycleEvent => ({
  name: 'member_added',
  projectId: 'p',
  channel: 'presence-x',
  userId: `u${n}`,
  time: '2026-11-23T10:00:00.000Z',
});

describe('EventBridgeSink', () => {
  it('puts each event as an entry: source realtime-broadcast, detail-type its name, detail without the name', async () => {
    await sink.emit([{ name: 'channel_occupied', projectId: 'p', channel: 'c', time: '2026-11-23T10:00:00.000Z' }]);
    expect(standIn.rejected).toBe(0);
    const [request] = standIn.received;
    expect(request.headers['x-amz-target']).toBe('AWSEvents.PutEvents');
    expect(JSON.parse(request.body)).toEqual({
      Entries: [
        {
          Source: 'realtime-broadcast',
          DetailType: 'channel_occupied',
          Detail: JSON.stringify({ projectId: 'p', channel: 'c', time: '2026-11-23T10:00:00.000Z' }),
          EventBusName: 'my-bus',
          Time: Date.parse('2026-11-23T10:00:00.000Z') / 1000,
        },
      ],
    });
  });

  it('sends at most 10 entries per call, as EventBridge allows', async () => {
    await sink.emit(Array.from({ length: 23 }, (_, n) => event(n)));
    expect(standIn.received.map((r) => JSON.parse(r.body).Entries.length)).toEqual([10, 10, 3]);
  });

  it('fails when EventBridge refuses entries, so the caller logs it', async () => {
    answers = [{ status: 200, body: { FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure' }] } }];
    await expect(sink.emit([event(1)])).rejects.toThrow('EventBridge refused 1 of 1 lifecycle events');
  });

  it('names AWS’s error when the call is refused (a missing grant, say)', async () => {
    answers = [{ status: 400, body: { __type: 'AccessDeniedException', Message: 'not authorized' } }];
    await expect(sink.emit([event(1)])).rejects.toMatchObject({ name: 'AwsError', errorType: 'AccessDeniedException', status: 400 });
  });
});
