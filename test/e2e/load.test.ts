/** `npm run bench:load`, scaled down: the same runs and checks at a size that takes seconds. */
import { runLoad } from '../../bench/load';

it('delivers every broadcast to every client once, and leaves nothing behind after connect–disconnect churn with dropped handshakes', async () => {
  const { fanout, churn } = await runLoad({ clients: 40, broadcasts: 10, cycles: 100, churnConcurrency: 20 });
  expect(fanout).toMatchObject({ expected: 400, delivered: 400, duplicates: 0, missing: 0 });
  expect(churn).toMatchObject({ cycles: 100, dropped: 10, connectionsLeft: 0, subscriptionsLeft: 0, statusTotal: 0, liveCount: 0 });
}, 120_000);
