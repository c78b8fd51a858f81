/**
 * Channel history over the real stream store (dynalite): offsets unique and gap-free under
 * concurrency, epochs that change when a stream expires, and each way a recovery can end.
 */
import { DynamoStreamStore } from '../../../lambda/adapters/dynamo-streams';
import { ChannelHistory } from '../../../lambda/domain/history';
import { LOCAL_TABLES } from '../../../local/store';
import { startTestStore, TestStore } from '../../helpers/dynamo';

let db: TestStore;
let now = Date.parse('2026-11-23T10:00:00.000Z');
let epochs = 0;
let history: ChannelHistory;
const KEEP = { size: 5, ttlSeconds: 3600 };

beforeAll(async () => {
  db = await startTestStore();
  history = new ChannelHistory(new DynamoStreamStore(db.documents, LOCAL_TABLES.channels.name, () => now), () => `epoch-${++epochs}`);
});
afterAll(() => db.stop());

const publish = (channel: string, n: number) =>
  history.append('p', channel, KEEP, ({ offset, epoch }) => JSON.stringify({ n, offset, epoch }));

describe('ChannelHistory', () => {
  it('gives concurrent publishes unique, gap-free offsets in one epoch, each stored with its message', async () => {
    const appended = await Promise.all(Array.from({ length: 20 }, (_, n) => publish('busy', n)));
    expect(appended.map((a) => a.position.offset).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(new Set(appended.map((a) => a.position.epoch)).size).toBe(1);
    const page = await history.read('p', 'busy', { size: 1000, ttlSeconds: 3600 }, 0, 100, 1e6);
    expect(page.messages.map((m) => JSON.parse(m.body).offset)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });

  it('recovers exactly what followed the given offset', async () => {
    const start = await history.position('p', 'rec', KEEP);
    expect(start.offset).toBe(0);
    for (let n = 1; n <= 4; n++) await publish('rec', n);
    const recovery = await history.recover('p', 'rec', KEEP, { offset: 1, epoch: start.epoch });
    expect(recovery).toMatchObject({ recovered: true, position: { offset: 4, epoch: start.epoch } });
    expect(recovery.recovered && recovery.messages.map((m) => m.offset)).toEqual([2, 3, 4]);
    expect(await history.recover('p', 'rec', KEEP, { offset: 4, epoch: start.epoch })).toMatchObject({ recovered: true, messages: [] });
  });

  it('refuses when the epoch differs, the offset is ahead, or more was missed than is kept', async () => {
    for (let n = 1; n <= 8; n++) await publish('far', n);
    const { epoch } = await history.position('p', 'far', KEEP);
    expect(await history.recover('p', 'far', KEEP, { offset: 2, epoch: 'old' })).toMatchObject({
      recovered: false,
      reason: 'epoch_changed',
      position: { offset: 8, epoch },
    });
    expect(await history.recover('p', 'far', KEEP, { offset: 9, epoch })).toMatchObject({ recovered: false, reason: 'unknown_offset' });
    expect(await history.recover('p', 'far', KEEP, { offset: 2, epoch })).toMatchObject({ recovered: false, reason: 'too_many_missed' });
    expect(await history.recover('p', 'far', KEEP, { offset: 3, epoch })).toMatchObject({ recovered: true });
  });

  it('refuses when what was missed expired, and starts a new epoch once the whole stream has', async () => {
    const shortLived = { size: 100, ttlSeconds: 60 };
    const first = await history.append('p', 'ttl', shortLived, () => '{"n":1}');
    now += 45_000;
    await history.append('p', 'ttl', shortLived, () => '{"n":2}');
    now += 30_000; // the first message is past its TTL, the second and the head are not
    expect(await history.recover('p', 'ttl', shortLived, { offset: 0, epoch: first.position.epoch })).toMatchObject({
      recovered: false,
      reason: 'expired',
    });
    expect(await history.recover('p', 'ttl', shortLived, { offset: 1, epoch: first.position.epoch })).toMatchObject({ recovered: true });
    now += 120_000; // everything is past its TTL, even before DynamoDB deletes it
    const next = await history.append('p', 'ttl', shortLived, () => '{"n":3}');
    expect(next.position).toEqual({ offset: 1, epoch: expect.not.stringMatching(first.position.epoch) });
    expect(await history.recover('p', 'ttl', shortLived, { offset: 2, epoch: first.position.epoch })).toMatchObject({
      recovered: false,
      reason: 'epoch_changed',
    });
  });

  it('pages history by count and by size, saying when there is more', async () => {
    for (let n = 1; n <= 5; n++) await publish('pages', n);
    const keep = { size: 100, ttlSeconds: 3600 };
    const first = await history.read('p', 'pages', keep, undefined, 2, 1e6);
    expect([first.messages.map((m) => m.offset), first.more]).toEqual([[1, 2], true]);
    const rest = await history.read('p', 'pages', keep, 2, 10, 1e6);
    expect([rest.messages.map((m) => m.offset), rest.more]).toEqual([[3, 4, 5], false]);
    const small = await history.read('p', 'pages', keep, 0, 10, 50);
    expect(small.messages.length).toBeLessThan(5);
    expect(small.more).toBe(true);
    // Only the newest `size` are history.
    expect((await history.read('p', 'pages', { size: 2, ttlSeconds: 3600 }, 0, 10, 1e6)).messages.map((m) => m.offset)).toEqual([4, 5]);
    expect(await history.read('p', 'never-published', keep, undefined, 10, 1e6)).toEqual({ messages: [], more: false });
  });
});
