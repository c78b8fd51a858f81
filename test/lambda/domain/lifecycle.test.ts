/** Lifecycle events: occupied on the first subscriber, vacated on the last, member events passed on; off without a sink; never thrown. */
import { Lifecycle } from '../../../lambda/domain/lifecycle';
import type { LifecycleEvent, OccupancyStore } from '../../../lambda/ports';

const NOW = Date.parse('2026-11-23T10:00:00.000Z');

function setup(options: { sink?: boolean; failing?: boolean } = {}) {
  const counts = new Map<string, number>();
  const occupancy: Pick<OccupancyStore, 'change'> & { calls: number } = {
    calls: 0,
    async change(projectId, channel, delta) {
      this.calls++;
      const key = `${projectId}#${channel}`;
      counts.set(key, Math.max(0, (counts.get(key) ?? 0) + delta));
      return counts.get(key)!;
    },
  };
  const sent: LifecycleEvent[] = [];
  const warnings: string[] = [];
  const lifecycle = new Lifecycle({
    sink:
      options.sink === false
        ? undefined
        : { emit: async (events) => (options.failing ? Promise.reject(new Error('down')) : void sent.push(...events)) },
    occupancy,
    logger: { warn: (message: string) => void warnings.push(message) },
    now: () => NOW,
  });
  return { lifecycle, occupancy, sent, warnings };
}

describe('Lifecycle', () => {
  it('says a channel is occupied at its first subscriber and vacated at its last, once each', async () => {
    const { lifecycle, sent } = setup();
    await lifecycle.subscribed('p', 'c');
    await lifecycle.subscribed('p', 'c');
    await lifecycle.unsubscribed('p', 'c');
    await lifecycle.unsubscribed('p', 'c');
    await lifecycle.emit('member_added', 'p', 'presence-c', 'alice');
    expect(sent).toEqual([
      { name: 'channel_occupied', projectId: 'p', channel: 'c', time: '2026-11-23T10:00:00.000Z' },
      { name: 'channel_vacated', projectId: 'p', channel: 'c', time: '2026-11-23T10:00:00.000Z' },
      { name: 'member_added', projectId: 'p', channel: 'presence-c', userId: 'alice', time: '2026-11-23T10:00:00.000Z' },
    ]);
  });

  it('counts nothing and sends nothing when off', async () => {
    const { lifecycle, occupancy } = setup({ sink: false });
    await lifecycle.subscribed('p', 'c');
    await lifecycle.emit('member_removed', 'p', 'c', 'u');
    expect(lifecycle.enabled).toBe(false);
    expect(occupancy.calls).toBe(0);
  });

  it('logs a failure to send instead of failing the subscribe', async () => {
    const { lifecycle, warnings } = setup({ failing: true });
    await expect(lifecycle.subscribed('p', 'c')).resolves.toBeUndefined();
    expect(warnings).toEqual(['lifecycle event not sent']);
  });
});
