/**
 * Presence members over the real member store (dynalite): a user counted once however many
 * connections, exactly one member_added and one member_removed even when its connections join and
 * leave at the same moment, silent members left out and reaped unless they spoke since.
 */
import { DynamoMemberStore } from '../../../lambda/adapters/dynamo-members';
import { Lifecycle } from '../../../lambda/domain/lifecycle';
import { Members } from '../../../lambda/domain/members';
import type { BackgroundTask } from '../../../lambda/ports';
import { LOCAL_TABLES } from '../../../local/store';
import { startTestStore, TestStore } from '../../helpers/dynamo';

let db: TestStore;
let now = Date.parse('2026-11-23T10:00:00.000Z');
const announced: { channel: string; body: any; exclude?: string[] }[] = [];
const tasks: BackgroundTask[] = [];
let members: Members;
let store: DynamoMemberStore;

beforeAll(async () => {
  db = await startTestStore();
  store = new DynamoMemberStore(db.documents, LOCAL_TABLES.channels.name, () => now);
  members = new Members({
    members: store,
    fanout: {
      toChannel: async (_p, channel, body, exclude) => (
        announced.push({ channel, body: JSON.parse(body), exclude: exclude && [...exclude] }),
        { sent: 1, failed: 0, gone: [] }
      ),
    },
    invoker: { invoke: async (task) => void tasks.push(task) },
    lifecycle: new Lifecycle({ occupancy: db.occupancy, logger: { warn: () => undefined } }),
    timeoutMs: 60_000,
    now: () => now,
  });
});
afterAll(() => db.stop());
beforeEach(() => {
  announced.length = 0;
  tasks.length = 0;
});

const conn = (connectionId: string, userId: string) => ({ connectionId, userId, info: { name: userId } });
const types = () => announced.map((a) => `${a.body.type}:${a.body.member.userId}`);

describe('Members', () => {
  it('announces a user once when two of its connections join at the same moment, and once when both leave at once', async () => {
    await Promise.all([members.join('p', 'presence-a', conn('c1=', 'alice')), members.join('p', 'presence-a', conn('c2=', 'alice'))]);
    expect(types()).toEqual(['member_added:alice']);
    expect(await members.list('p', 'presence-a')).toEqual([{ userId: 'alice', info: { name: 'alice' } }]);
    announced.length = 0;
    await Promise.all([members.leave('p', 'presence-a', 'alice', 'c1='), members.leave('p', 'presence-a', 'alice', 'c2=')]);
    expect(types()).toEqual(['member_removed:alice']);
    expect(await members.list('p', 'presence-a')).toEqual([]);
  });

  it('does not tell the joining connection about itself, and ignores leaving a channel it was never in', async () => {
    await members.join('p', 'presence-b', conn('b1=', 'bob'));
    expect(announced[0].exclude).toEqual(['b1=']);
    announced.length = 0;
    expect(await members.leave('p', 'presence-b', 'bob', 'not-there=')).toEqual({ notified: 0, gone: [] });
    expect(announced).toEqual([]);
  });

  it('leaves out a member silent past the timeout, and reaps it in the background unless it spoke since', async () => {
    await members.join('p', 'presence-c', conn('q1=', 'quiet'));
    await members.join('p', 'presence-c', conn('t1=', 'talker'));
    now += 61_000;
    await members.touch('p', ['presence-c'], 'talker', 't1=');
    expect(await members.list('p', 'presence-c')).toEqual([{ userId: 'talker', info: { name: 'talker' } }]);
    expect(tasks).toEqual([
      { task: 'reap', projectId: 'p', channel: 'presence-c', members: [{ userId: 'quiet', version: expect.any(Number) }] },
    ]);
    const reap = tasks[0] as Extract<BackgroundTask, { task: 'reap' }>;

    // `quiet` pings after the read and before the reap: it stays.
    await members.touch('p', ['presence-c'], 'quiet', 'q1=');
    announced.length = 0;
    await members.reap('p', 'presence-c', reap.members);
    expect(announced).toEqual([]);
    expect((await members.list('p', 'presence-c')).map((m) => m.userId)).toEqual(['quiet', 'talker']);

    now += 61_000;
    await members.touch('p', ['presence-c'], 'talker', 't1=');
    tasks.length = 0;
    await members.list('p', 'presence-c');
    await members.reap('p', 'presence-c', (tasks[0] as Extract<BackgroundTask, { task: 'reap' }>).members);
    expect(types()).toEqual(['member_removed:quiet']);
  });

  it('keeps a user listed while one connection is live, though another went silent', async () => {
    await members.join('p', 'presence-d', conn('d1=', 'dora'));
    now += 50_000;
    await members.join('p', 'presence-d', conn('d2=', 'dora'));
    now += 20_000; // d1 silent 70 s, d2 20 s
    expect((await members.list('p', 'presence-d')).map((m) => m.userId)).toEqual(['dora']);
    announced.length = 0;
    await members.leave('p', 'presence-d', 'dora', 'd2=');
    // The silent d1 does not keep a ghost: the member goes with its last live connection.
    expect(types()).toEqual(['member_removed:dora']);
  });
});
