import { fanOut, onePage } from '../../../lambda/domain/fanout';
import type { Delivery, DeliveryOutcome } from '../../../lambda/ports';

/** A delivery that answers from a table and records how many posts were in flight at once. */
class ScriptedDelivery implements Pick<Delivery, 'post'> {
  inFlight = 0;
  maxInFlight = 0;
  posted: string[] = [];
  constructor(private readonly outcomes: Record<string, DeliveryOutcome> = {}) {}
  async post(connectionId: string): Promise<DeliveryOutcome> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    await new Promise((resolve) => setTimeout(resolve, 2));
    this.inFlight--;
    this.posted.push(connectionId);
    return this.outcomes[connectionId] ?? 'sent';
  }
}

async function* pages(...lists: string[][]) {
  for (const ids of lists) yield { ids };
}

describe('fanOut', () => {
  it('posts to every recipient across pages exactly once', async () => {
    const delivery = new ScriptedDelivery();
    const result = await fanOut(pages(['a', 'b'], ['c'], ['d', 'e']), 'm', delivery, 10);
    expect(delivery.posted.sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(result).toEqual({ sent: 5, failed: 0, gone: [], deferred: [] });
  });

  it('never runs more posts at once than the concurrency limit', async () => {
    const delivery = new ScriptedDelivery();
    const ids = Array.from({ length: 40 }, (_, i) => `c${i}`);
    await fanOut(pages(ids.slice(0, 20), ids.slice(20)), 'm', delivery, 4);
    expect(delivery.maxInFlight).toBe(4);
    expect(delivery.posted).toHaveLength(40);
  });

  it('counts failures and collects gone connections', async () => {
    const delivery = new ScriptedDelivery({ b: 'gone', c: 'failed', d: 'gone' });
    const result = await fanOut(pages(['a', 'b', 'c', 'd']), 'm', delivery, 2);
    expect(result.sent).toBe(1);
    expect(result.failed).toBe(1);
    expect([...result.gone].sort()).toEqual(['b', 'd']);
  });

  it('does nothing for no recipients', async () => {
    const delivery = new ScriptedDelivery();
    expect(await fanOut(onePage([]), 'm', delivery, 2)).toEqual({ sent: 0, failed: 0, gone: [], deferred: [] });
    expect(delivery.posted).toEqual([]);
  });
});
