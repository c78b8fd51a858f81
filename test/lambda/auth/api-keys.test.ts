import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { ApiKeys, generateApiKey } from '../../../lambda/auth/api-keys';
import { KeySealer } from '../../../lambda/auth/sealing';
import { hashKey } from '../../../lambda/auth/secrets';
import { StaticKeySource } from '../../../lambda/adapters/key-sources';
import { ErrorCode } from '../../../lambda/protocol';
import { LOCAL_TABLES } from '../../../local/store';
import { startTestStore, TestStore } from '../../helpers/dynamo';

let db: TestStore;
let keys: ApiKeys;
beforeAll(async () => {
  db = await startTestStore();
  keys = new ApiKeys(db.apiKeys, new KeySealer(new StaticKeySource('sealing')), () => Date.parse('2026-11-21T12:00:00Z'));
});
afterAll(() => db.stop());

async function created(projectId: string, description = '') {
  const result = await keys.create(projectId, description);
  if (!result.ok) throw new Error(result.error.message);
  return result.value;
}

describe('generateApiKey', () => {
  it('makes recognisable keys with at least 128 random bits, never the same twice', () => {
    const generated = Array.from({ length: 100 }, generateApiKey);
    for (const key of generated) expect(key).toMatch(/^rbk_[A-Za-z0-9_-]{32}$/); // 32 base64url chars = 192 bits
    expect(new Set(generated).size).toBe(100);
  });
});

describe('ApiKeys', () => {
  it('creates a key once, shows it only then, and stores its hash and a seal, never the key', async () => {
    const key = await created('alpha', 'Alpha app');
    const { apiKey, keyPrefix } = key;
    expect(key).toEqual({
      projectId: 'alpha',
      apiKey,
      keyPrefix,
      description: 'Alpha app',
      createdAt: '2026-11-21T12:00:00.000Z',
      signsTokens: true,
    });
    expect(apiKey.startsWith(keyPrefix)).toBe(true);
    expect(keyPrefix).toHaveLength(12);
    const [stored] = await db.apiKeys.ofProject('alpha');
    expect(stored.keyHash).toBe(hashKey(apiKey));
    expect(JSON.stringify(stored)).not.toContain(apiKey.slice(12));
    expect(JSON.stringify(await keys.of('alpha'))).not.toContain(apiKey.slice(12));
    expect(JSON.stringify(await keys.list())).not.toContain(apiKey.slice(12));
  });

  it('holds two keys per project, and refuses a third with key_exists', async () => {
    const first = await created('beta');
    const second = await created('beta');
    expect(await keys.projectOf(first.apiKey)).toBe('beta');
    expect(await keys.projectOf(second.apiKey)).toBe('beta');
    expect(await keys.create('beta', '')).toMatchObject({ ok: false, error: { code: ErrorCode.keyExists } });
  });

  it('never stores a third key even when creates race', async () => {
    const results = await Promise.all(Array.from({ length: 5 }, () => keys.create('racing', '')));
    expect(results.filter((result) => result.ok)).toHaveLength(2);
    expect(await db.apiKeys.ofProject('racing')).toHaveLength(2);
  });

  it('revokes one key by prefix, leaving the other working', async () => {
    const old = await created('gamma', 'old');
    const next = await created('gamma', 'new');
    expect(await keys.revoke('gamma', old.keyPrefix)).toEqual({ ok: true, value: [expect.objectContaining({ keyPrefix: old.keyPrefix })] });
    expect(await keys.projectOf(old.apiKey)).toBeUndefined();
    expect(await keys.projectOf(next.apiKey)).toBe('gamma');
    expect(await keys.signingKey(old.keyPrefix)).toBeUndefined();
    expect(await keys.signingKey(next.keyPrefix)).toEqual({ projectId: 'gamma', keyPrefix: next.keyPrefix, apiKey: next.apiKey });
    expect(await keys.revoke('gamma', old.keyPrefix)).toMatchObject({ ok: false, error: { code: ErrorCode.keyNotFound } });
  });

  it('revokes every key of a project at once', async () => {
    const a = await created('delta');
    const b = await created('delta');
    const revoked = await keys.revoke('delta');
    expect(revoked.ok && revoked.value.map((key) => key.keyPrefix).sort()).toEqual([a.keyPrefix, b.keyPrefix].sort());
    expect(await keys.of('delta')).toMatchObject({ ok: false, error: { code: ErrorCode.projectNotFound } });
  });

  it('opens no sealed key under another sealing secret', async () => {
    const key = await created('epsilon');
    const elsewhere = new ApiKeys(db.apiKeys, new KeySealer(new StaticKeySource('another secret')));
    expect(await elsewhere.signingKey(key.keyPrefix)).toBeUndefined();
  });

  it('still knows a key of the old keys table for HTTP, but not for tokens, and revokes it', async () => {
    const apiKey = generateApiKey();
    await db.documents.send(
      new PutCommand({
        TableName: LOCAL_TABLES.apiKeys.name,
        Item: {
          projectId: 'legacy',
          keyHash: hashKey(apiKey),
          keyPrefix: apiKey.slice(0, 12),
          description: '',
          createdAt: '2025-01-01T00:00:00.000Z',
          listing: 'key',
        },
      }),
    );
    expect(await keys.projectOf(apiKey)).toBe('legacy');
    expect(await keys.signingKey(apiKey.slice(0, 12))).toBeUndefined();
    expect(await keys.list()).toEqual(expect.arrayContaining([expect.objectContaining({ projectId: 'legacy', signsTokens: false })]));
    expect((await keys.revoke('legacy')).ok).toBe(true);
    expect(await keys.projectOf(apiKey)).toBeUndefined();
  });

  it('answers project_not_found for an unknown project', async () => {
    expect(await keys.of('nobody')).toMatchObject({ ok: false, error: { code: ErrorCode.projectNotFound } });
    expect(await keys.revoke('nobody')).toMatchObject({ ok: false, error: { code: ErrorCode.projectNotFound } });
  });
});
