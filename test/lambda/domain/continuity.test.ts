/**
 * Continuity over the real stores (dynalite): where a signed-in user's connection left a channel,
 * the earliest departure kept, taken once; what a clean and an unclean close replay; `until`
 * leaving out what came live; a reset stream replaying nothing.
 */
import { DynamoAwayStore } from '../../../lambda/adapters/dynamo-away';
import { DynamoStreamStore } from '../../../lambda/adapters/dynamo-streams';
import { closedBy, Continuity } from '../../../lambda/domain/continuity';
import { ChannelHistory } from '../../../lambda/domain/history';
import type { ConnectionRecord } from '../../../lambda/ports';
import { LOCAL_TABLES } from '../../../local/store';
import { startTestStore, TestStore } from '../../helpers/dynamo';

let db: TestStore;
let now = Date.parse('2026-11-30T10:00:00.000Z');
const clock = () => now;
let history: ChannelHistory;
let streams: DynamoStreamStore;
let continuity: Continuity;
let epochs = 0;
const KEEP = { size: 1000, ttlSeconds: 3600 };
const BOUND = { messages: 1000, bytes: 1024 * 1024 };

beforeAll(async () => {
  db = await startTestStore();
  streams = new DynamoStreamStore(db.documents, LOCAL_TABLES.channels.name, clock);
  history = new ChannelHistory(streams, () => `epoch-${++epochs}`);
  const away = new DynamoAwayStore(db.documents, LOCAL_TABLES.channels.name, clock);
  continuity = new Continuity({ away, streams, history });
});
afterAll(() => db.stop());

/** A publish as the service stores one: its body says when (`timestamp`). */
const publish = async (channel: string, n: number) => {
  now += 1000;
  await history.append('p', channel, KEEP, ({ offset, epoch }) =>
    JSON.stringify({ kind: 'message', n, offset, epoch, timestamp: new Date(now).toISOString() }),
  );
};
const publishMany = async (channel: string, from: number, to: number) => {
  for (let n = from; n <= to; n++) await publish(channel, n);
};
const connection = (signedIn: string | undefined, channel: string, connectionId = `c-${signedIn}`): ConnectionRecord => ({
  connectionId,
  projectId: 'p',
  connectedAt: 0,
  channels: [channel],
  signedIn,
});
const numbers = (messages: readonly { body: string }[]) => messages.map((m) => (JSON.parse(m.body) as { n: number }).n);

describe('Continuity', () => {
  it('after a clean close replays what was published after it, also what came before the mark was written', async () => {
    await publishMany('clean', 1, 3);
    const closedAt = now + 1;
    // Published after the close, before the departure was handled: not delivered, so replayed.
    await publishMany('clean', 4, 5);
    await continuity.left(connection('ada', 'clean'), 'clean', KEEP, closedBy(1001, closedAt));
    await publishMany('clean', 6, 8);
    expect(numbers(await continuity.resume('p', 'clean', { userId: 'ada', connectionId: 'new' }, KEEP, BOUND))).toEqual([4, 5, 6, 7, 8]);
    // Taken: a second subscribe gets nothing.
    expect(await continuity.resume('p', 'clean', { userId: 'ada', connectionId: 'new' }, KEEP, BOUND)).toEqual([]);
  });

  it('after a close that was not clean replays the drop window before it too', async () => {
    await publishMany('dropped', 1, 3);
    await continuity.left(connection('bob', 'dropped'), 'dropped', KEEP, closedBy(1006, now + 1));
    await publishMany('dropped', 4, 5);
    // 1–3 were published within the window before the close: API Gateway may have swallowed them.
    expect(numbers(await continuity.resume('p', 'dropped', { userId: 'bob', connectionId: 'new' }, KEEP, BOUND))).toEqual([1, 2, 3, 4, 5]);
    expect(closedBy(undefined, 0).clean).toBe(false);
  });

  it('keeps the earliest departure of a user with several connections, and leaves out what came live (until)', async () => {
    await publishMany('two', 1, 2);
    const first = now + 1;
    await publishMany('two', 3, 4);
    await continuity.left(connection('cy', 'two'), 'two', KEEP, closedBy(1000, now + 1));
    await continuity.left(connection('cy', 'two'), 'two', KEEP, closedBy(1000, first));
    await publishMany('two', 5, 6);
    const until = await history.position('p', 'two', KEEP);
    await publishMany('two', 7, 7);
    expect(numbers(await continuity.resume('p', 'two', { userId: 'cy', connectionId: 'new' }, KEEP, BOUND, until))).toEqual([3, 4, 5, 6]);
  });

  it('writes no mark for a drop reported after the user came back (API Gateway noticed late), and puts back one not paid for', async () => {
    await publishMany('late', 1, 2);
    // The successor subscribed (and took nothing) before the old connection's departure was reported.
    expect(await continuity.resume('p', 'late', { userId: 'fay', connectionId: 'successor' }, KEEP, BOUND)).toEqual([]);
    await continuity.left(connection('fay', 'late', 'old'), 'late', KEEP, closedBy(1006, now + 1));
    await publishMany('late', 3, 3);
    expect(await continuity.resume('p', 'late', { userId: 'fay', connectionId: 'later' }, KEEP, BOUND)).toEqual([]);

    // Its own earlier subscribe does not stop a connection's mark; a refused payment keeps it for the next.
    await continuity.resume('p', 'paid', { userId: 'gus', connectionId: 'c-gus' }, KEEP, BOUND);
    await publishMany('paid', 1, 1);
    await continuity.left(connection('gus', 'paid'), 'paid', KEEP, closedBy(1001, now + 1));
    await publishMany('paid', 2, 3);
    const refused = await continuity.resume('p', 'paid', { userId: 'gus', connectionId: 'n1' }, KEEP, BOUND, undefined, async () => false);
    expect(refused).toEqual([]);
    expect(numbers(await continuity.resume('p', 'paid', { userId: 'gus', connectionId: 'n2' }, KEEP, BOUND))).toEqual([2, 3]);
  });

  it('replays nothing for an anonymous connection, a reset stream, or more than the bound', async () => {
    await publishMany('anon', 1, 2);
    await continuity.left(connection(undefined, 'anon'), 'anon', KEEP, closedBy(1000, now));
    await publishMany('anon', 3, 3);
    expect(await continuity.resume('p', 'anon', { userId: 'undefined', connectionId: 'new' }, KEEP, BOUND)).toEqual([]);

    await publishMany('bounded', 1, 1);
    await continuity.left(connection('di', 'bounded'), 'bounded', KEEP, closedBy(1000, now + 1));
    await publishMany('bounded', 2, 6);
    expect(
      await continuity.resume('p', 'bounded', { userId: 'di', connectionId: 'new' }, KEEP, { messages: 3, bytes: BOUND.bytes }),
    ).toEqual([]);

    await publishMany('reset', 1, 1);
    await continuity.left(connection('ed', 'reset'), 'reset', KEEP, closedBy(1000, now + 1));
    await publishMany('reset', 2, 2);
    const other = await history.position('p', 'reset', KEEP);
    expect(
      await continuity.resume('p', 'reset', { userId: 'ed', connectionId: 'new' }, KEEP, BOUND, { ...other, epoch: 'another' }),
    ).toEqual([]);
  });
});
