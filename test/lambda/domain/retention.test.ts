import type { Delivered } from '../../../lambda/protocol';
import type { Publisher } from '../../../lambda/domain/publish';
import { DynamoRetainedStore } from '../../../lambda/adapters/dynamo-retained';
import { Retention } from '../../../lambda/domain/retention';
import { LOCAL_TABLES } from '../../../local/store';
import { startTestStore, TestStore } from '../../helpers/dynamo';

let db: TestStore;
let retention: Retention;
/** Records the notices a clear sends, as a channel of two subscribers would take them. */
const sentNotices: { projectId: string; channel: string; body: unknown }[] = [];
const notices: Pick<Publisher, 'stamp' | 'deliverToChannel'> = {
  stamp: () => ({ id: 'n1', timestamp: '2026-11-21T12:00:00.000Z' }),
  deliverToChannel: async (projectId, channel, body) => {
    sentNotices.push({ projectId, channel, body: JSON.parse(body) });
    return { sent: 2, failed: 0, stale: 0 };
  },
};
beforeAll(async () => {
  db = await startTestStore();
  retention = new Retention(db.retained, notices);
});
afterAll(() => db.stop());

const message = (id: string): Delivered => ({
  kind: 'message',
  id,
  timestamp: '2026-11-21T12:00:00.000Z',
  channel: 'news',
  event: 'e',
  data: 1,
});

describe('Retention', () => {
  it('gives the active broadcast, marked retained, until the user acknowledges it', async () => {
    await retention.retain('r1', 'news', message('m1'));
    expect(await retention.pendingFor('r1', 'news', 'alice')).toEqual({ ...message('m1'), retained: true });
    await retention.ack('r1', 'news', 'alice', 'm1');
    expect(await retention.pendingFor('r1', 'news', 'alice')).toBeUndefined();
    expect(await retention.pendingFor('r1', 'news', 'bob')).toMatchObject({ id: 'm1' });
    expect(await retention.pendingFor('r1', 'news', undefined)).toMatchObject({ id: 'm1' });
  });

  it('sends a newer broadcast to a user who acknowledged the older one', async () => {
    await retention.retain('r2', 'news', message('old'));
    await retention.ack('r2', 'news', 'alice', 'old');
    await retention.retain('r2', 'news', message('new'));
    expect(await retention.pendingFor('r2', 'news', 'alice')).toMatchObject({ id: 'new', retained: true });
  });

  it('does not read acknowledgements on a channel that retains nothing', async () => {
    const acks = jest.spyOn(db.retained, 'ackedBy');
    expect(await retention.pendingFor('r3', 'quiet', 'alice')).toBeUndefined();
    expect(acks).not.toHaveBeenCalled();
    acks.mockRestore();
  });

  it('clears the active broadcast and tells the channel once; clearing nothing sends nothing', async () => {
    await retention.retain('r9', 'news', message('m9'));
    expect(await retention.clear('r9', 'news')).toEqual({ cleared: true, sent: 2, failed: 0, stale: 0 });
    expect(sentNotices).toEqual([
      {
        projectId: 'r9',
        channel: 'news',
        body: { kind: 'message', id: 'n1', timestamp: '2026-11-21T12:00:00.000Z', channel: 'news', event: 'broadcast_cleared' },
      },
    ]);
    expect(await retention.pendingFor('r9', 'news', 'alice')).toBeUndefined();
    expect(await retention.clear('r9', 'news')).toEqual({ cleared: false, sent: 0, failed: 0, stale: 0 });
    expect(sentNotices).toHaveLength(1);
  });
});

describe('a retained message with an end (a cache channel’s last event)', () => {
  it('is the channel’s until it ends, then nobody’s', async () => {
    let now = Date.parse('2026-11-21T12:00:00Z');
    const store = new DynamoRetainedStore(db.documents, LOCAL_TABLES.retained.name, () => now);
    const timed = new Retention(store, notices);
    await timed.retain('r-cache', 'cache-x', message('c1'), now + 30 * 60_000);
    now += 30 * 60_000 - 1;
    expect(await timed.pendingFor('r-cache', 'cache-x', undefined)).toMatchObject({ id: 'c1' });
    now += 1;
    expect(await timed.pendingFor('r-cache', 'cache-x', undefined)).toBeUndefined();
  });
});
