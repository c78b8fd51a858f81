import { ApiKeys, generateApiKey } from '../../../lambda/auth/api-keys';
import { ErrorCode } from '../../../lambda/protocol';
import { startTestStore, TestStore } from '../../helpers/dynamo';

let db: TestStore;
let keys: ApiKeys;
beforeAll(async () => {
  db = await startTestStore();
  keys = new ApiKeys(db.apiKeys, () => Date.parse('2026-11-21T12:00:00Z'));
});
afterAll(() => db.stop());

describe('generateApiKey', () => {
  it('makes recognisable keys with at least 128 random bits, never the same twice', () => {
    const generated = Array.from({ length: 100 }, generateApiKey);
    for (const key of generated) expect(key).toMatch(/^rbk_[A-Za-z0-9_-]{32}$/); // 32 base64url chars = 192 bits
    expect(new Set(generated).size).toBe(100);
  });
});

describe('ApiKeys', () => {
  it('creates a key once, shows it only then, and stores only its hash', async () => {
    const created = await keys.create('alpha', 'Alpha app');
    if (!created.ok) throw new Error(created.error.message);
    const { apiKey, keyPrefix } = created.value;
    expect(created.value).toEqual({ projectId: 'alpha', apiKey, keyPrefix, description: 'Alpha app', createdAt: '2026-11-21T12:00:00.000Z' });
    expect(apiKey.startsWith(keyPrefix)).toBe(true);
    expect(keyPrefix).toHaveLength(12);
    const stored = await keys.get('alpha');
    expect(JSON.stringify(stored)).not.toContain(apiKey);
    expect(JSON.stringify(await keys.list())).not.toContain(apiKey);
  });

  it('refuses a second key for the same project with key_exists', async () => {
    await keys.create('beta', '');
    expect(await keys.create('beta', '')).toMatchObject({ ok: false, error: { code: ErrorCode.keyExists } });
  });

  it('lists every project’s key', async () => {
    await keys.create('gamma', 'g');
    const listed = (await keys.list()).map((record) => record.projectId);
    expect(listed).toEqual(expect.arrayContaining(['alpha', 'beta', 'gamma']));
  });

  it('answers project_not_found for an unknown project', async () => {
    expect(await keys.get('nobody')).toMatchObject({ ok: false, error: { code: ErrorCode.projectNotFound } });
    expect(await keys.revoke('nobody')).toMatchObject({ ok: false, error: { code: ErrorCode.projectNotFound } });
  });
});
