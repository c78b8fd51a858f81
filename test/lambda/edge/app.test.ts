import { pusherSocketId } from '../../../lambda/contract/socket-ids';
/** Dispatch: background tasks and events that are neither WebSocket nor HTTP. */
import { httpEvent } from '../../helpers/gateway-events';
import { useHandler } from '../../helpers/handler';

const { api, handler, invoked, posted, connect } = useHandler();

describe('welcome task', () => {
  it('$connect schedules the welcome instead of posting while $connect runs', async () => {
    invoked.length = 0;
    const id = await connect({ projectId: 'welcomed', type: 'runtime' });
    expect(posted()).toEqual([]);
    expect(invoked).toEqual([{ task: 'welcome', connectionId: id, projectId: 'welcomed', clientType: 'runtime', clientCount: 1 }]);
  });

  it('the task posts connected to the new connection', async () => {
    const id = await connect();
    api.clearCalls();
    const result = await handler({ task: 'welcome', connectionId: id, projectId: 'default', clientCount: 4 });
    expect(result).toEqual({ statusCode: 200 });
    const socketId = pusherSocketId(id);
    expect(posted()).toEqual([
      [
        id,
        {
          kind: 'notice',
          type: 'connected',
          clientId: id,
          ...(socketId && { socketId }),
          projectId: 'default',
          clientCount: 4,
          timestamp: '2026-11-21T22:38:01.000Z',
        },
      ],
    ]);
  });

  it('is not accepted through API Gateway', async () => {
    // Handled as the HTTP request it is (401 without a key), not as a task.
    const event = { ...httpEvent({ authorization: null }), task: 'welcome', connectionId: 'x=' };
    expect((await handler(event)).statusCode).toBe(401);
  });
});

describe('unrecognised events', () => {
  it.each([{}, null, { requestContext: {} }, 'text'])('answers 400 to %j without throwing', async (event) => {
    expect(await handler(event)).toEqual({ statusCode: 400 });
  });
});
