import { KEYED_PROJECT_SETTINGS, OPEN_PROJECT_SETTINGS } from '../../../lambda/contract/limits';
import { Settings } from '../../../lambda/domain/settings';
import { startTestStore, TestStore } from '../../helpers/dynamo';

let db: TestStore;
const clock = { now: Date.parse('2026-11-21T12:00:00Z') };
let settings: Settings;
beforeAll(async () => {
  db = await startTestStore();
  settings = new Settings(db.settings, () => clock.now);
});
afterAll(() => db.stop());
afterEach(() => jest.restoreAllMocks());

describe('Settings', () => {
  it('leaves a project without settings open', async () => {
    expect(await settings.of('never-set')).toEqual(OPEN_PROJECT_SETTINGS);
    expect(await settings.read('never-set')).toEqual({ projectId: 'never-set', settings: OPEN_PROJECT_SETTINGS, updatedAt: null });
  });

  it('closes a project when it gets its first key, but never overrides what the master key chose', async () => {
    await settings.protect('keyed');
    expect(await settings.of('keyed')).toEqual(KEYED_PROJECT_SETTINGS);
    await settings.update('chosen', { anonymousConnect: true });
    await settings.protect('chosen');
    expect(await settings.of('chosen')).toMatchObject({ anonymousConnect: true, clientPublish: 'all' });
  });

  it('changes only the fields given, and stamps the change', async () => {
    const updated = await settings.update('partial', { rateLimit: { perSecond: 5, burst: 5 } });
    expect(updated).toEqual({
      projectId: 'partial',
      settings: { ...OPEN_PROJECT_SETTINGS, rateLimit: { perSecond: 5, burst: 5 } },
      updatedAt: '2026-11-21T12:00:00.000Z',
    });
    await settings.update('partial', { clientPublish: 'none' });
    expect(await settings.of('partial')).toEqual({
      ...OPEN_PROJECT_SETTINGS,
      rateLimit: { perSecond: 5, burst: 5 },
      clientPublish: 'none',
    });
  });

  it('reads the store at most once per 30 s per project, and at once after its own change', async () => {
    const get = jest.spyOn(db.settings, 'get');
    await settings.of('cached');
    await settings.of('cached');
    clock.now += 29_000;
    await settings.of('cached');
    expect(get).toHaveBeenCalledTimes(1);
    clock.now += 2_000;
    await settings.of('cached');
    expect(get).toHaveBeenCalledTimes(2);
    await settings.update('cached', { anonymousConnect: false });
    expect((await settings.of('cached')).anonymousConnect).toBe(false);
  });
});
