import { Logger } from '@aws-lambda-powertools/logger';
import { Membership } from '../../../lambda/domain/membership';
import { Projects } from '../../../lambda/domain/projects';
import { ErrorCode } from '../../../lambda/protocol';
import { startTestStore, TestStore } from '../../helpers/dynamo';
import { newConnectionId } from '../../helpers/gateway-events';

const NOW = Date.parse('2026-11-21T12:00:00Z');
const DAY = 24 * 60 * 60 * 1000;
let db: TestStore;
let projects: Projects;
let membership: Membership;

beforeAll(async () => {
  db = await startTestStore();
  projects = new Projects({ ...db, logger: new Logger(), now: () => NOW });
  membership = new Membership(db, { departed: async () => [] });
});
afterAll(() => db.stop());

async function connection(projectId: string, clientType?: string, channels: string[] = []) {
  const connectionId = newConnectionId();
  await membership.connect({ connectionId, projectId, clientType, connectedAt: Date.now() });
  for (const channel of channels) await membership.subscribe(connectionId, channel);
  return connectionId;
}

describe('the count of open connections', () => {
  const HOUR = 60 * 60 * 1000;

  it('goes up on connect and down on disconnect, paired by the connection’s open time', async () => {
    expect(await db.usage.record('live1', { connections: 1, live: 1, liveSince: NOW }, NOW)).toEqual({ live: 1 });
    expect(await db.usage.record('live1', { connections: 1, live: 1, liveSince: NOW + 1000 }, NOW + 1000)).toEqual({ live: 2 });
    // A disconnect an hour and a half later still finds its connection's bucket.
    expect(await db.usage.record('live1', { live: -1, liveSince: NOW }, NOW + 1.5 * HOUR)).toEqual({ live: 1 });
  });

  it('forgets a connection whose $disconnect never came once API Gateway must have closed it, instead of counting it forever', async () => {
    await db.usage.record('live2', { connections: 1, live: 1, liveSince: NOW }, NOW);
    // Three hours later: past the 2-hour limit and the end of its bucket's hour.
    expect(await db.usage.record('live2', { connections: 1, live: 1, liveSince: NOW + 3 * HOUR }, NOW + 3 * HOUR)).toEqual({ live: 1 });
  });
});

describe('usage', () => {
  it('adds each invocation’s counts to the total and to its day', async () => {
    await db.usage.record('u1', { requests: 1, deliveries: 40 }, NOW - 2 * DAY);
    await db.usage.record('u1', { requests: 1, deliveries: 10 }, NOW);
    await db.usage.record('u1', { requests: 1, deliveries: 5 }, NOW);
    await db.usage.record('u1', { connections: 1 }, NOW);
    const usage = await projects.usage('u1');
    if (!usage.ok) throw new Error('no usage');
    expect(usage.value).toMatchObject({ projectId: 'u1', totalRequests: 3, totalDeliveries: 55, totalConnections: 1 });
    expect(usage.value.dailyRequests).toHaveLength(30);
    expect(usage.value.dailyRequests.at(-1)).toEqual({ date: '2026-11-21', count: 2, deliveries: 15 });
    expect(usage.value.dailyRequests.at(-3)).toEqual({ date: '2026-11-19', count: 1, deliveries: 40 });
    expect(usage.value.dailyRequests[0]).toEqual({ date: '2026-10-23', count: 0, deliveries: 0 });
  });

  it('leaves out days older than 30', async () => {
    await db.usage.record('u2', { requests: 7 }, NOW - 31 * DAY);
    const usage = await projects.usage('u2');
    if (!usage.ok) throw new Error('no usage');
    expect(usage.value.totalRequests).toBe(7);
    expect(usage.value.dailyRequests.every((day) => day.count === 0)).toBe(true);
  });

  it('answers project_not_found for a project never seen, and zeros for default', async () => {
    expect(await projects.usage('never-seen')).toMatchObject({ ok: false, error: { code: ErrorCode.projectNotFound } });
    expect(await projects.usage('default')).toMatchObject({ ok: true, value: { totalRequests: 0 } });
  });

  it('writes no day figures for a change in open connections alone, and reads none when asked for no days', async () => {
    await db.usage.record('u4', { connections: 1, live: 1 }, NOW);
    await db.usage.record('u4', { live: -1 }, NOW + DAY);
    const report = await db.usage.read('u4', 30, NOW + DAY);
    expect(report?.daily.map((day) => day.date)).toEqual(['2026-11-21']);
    const query = jest.spyOn(db.documents, 'send');
    const totalsOnly = await db.usage.read('u4', 0, NOW + DAY);
    expect(totalsOnly).toMatchObject({ totalConnections: 1, daily: [] });
    expect(query).toHaveBeenCalledTimes(1);
    query.mockRestore();
  });

  it('does not fail the request when counting fails', async () => {
    jest.spyOn(db.usage, 'record').mockRejectedValueOnce(new Error('throttled'));
    const failing = new Projects({ ...db, logger: new Logger() });
    await expect(failing.record('u3', { requests: 1 })).resolves.toBeUndefined();
  });
});

describe('status', () => {
  it('counts connections by type and subscribers by channel, for this project only', async () => {
    await connection('s1', 'admin', ['alerts']);
    await connection('s1', 'runtime', ['alerts', 'logs']);
    await connection('s1', 'runtime');
    await connection('s1');
    await connection('s2', 'admin', ['alerts']);
    await db.usage.record('s1', { requests: 1 }, NOW);
    const status = await projects.status('s1');
    expect(status).toEqual({
      ok: true,
      value: {
        projectId: 's1',
        connections: { total: 4, byType: { admin: 1, runtime: 2, none: 1 } },
        channels: [
          { channel: 'alerts', subscribers: 2 },
          { channel: 'logs', subscribers: 1 },
        ],
        lastActivityAt: '2026-11-21T12:00:00.000Z',
      },
    });
  });

  it('drops a disconnected connection from the counts', async () => {
    const id = await connection('s3', 'admin', ['x']);
    await membership.disconnect(id);
    expect(await projects.status('s3')).toMatchObject({ ok: false, error: { code: ErrorCode.projectNotFound } });
  });

  it('counts one channel’s subscribers', async () => {
    await connection('s4', undefined, ['room']);
    await connection('s4', undefined, ['room']);
    expect(await projects.channel('s4', 'room')).toEqual({ ok: true, value: { projectId: 's4', channel: 'room', subscribers: 2 } });
    expect(await projects.channel('s4', 'empty')).toEqual({ ok: true, value: { projectId: 's4', channel: 'empty', subscribers: 0 } });
  });
});
