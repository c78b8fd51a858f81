/**
 * A user's connections counted against maxConnectionsPerUser over the real store (dynalite), when
 * its first connections arrive at once (pusher-js tabs signing in together): none is refused below
 * the limit, and no more than the limit get in.
 */
import { startTestStore, TestStore } from '../../helpers/dynamo';

let db: TestStore;
beforeAll(async () => (db = await startTestStore()));
afterAll(() => db.stop());

const admitAtOnce = (userId: string, count: number, max: number) =>
  Promise.all(Array.from({ length: count }, (_, i) => db.users.admit('p', userId, `c${i}`, 9_999_999_999, max, 1000)));

describe('DynamoUserStore.admit', () => {
  it('admits a user’s first connections arriving together, up to the limit and no further', async () => {
    for (let trial = 0; trial < 10; trial++) {
      expect(await admitAtOnce(`together-${trial}`, 5, 10)).toEqual([true, true, true, true, true]);
      const admitted = await admitAtOnce(`crowd-${trial}`, 8, 5);
      expect(admitted.filter(Boolean)).toHaveLength(5);
    }
  });
});
