import { ApiKeys } from '../../../lambda/auth/api-keys';
import { KeySealer } from '../../../lambda/auth/sealing';
import { signClientToken } from '../../../lambda/auth/tokens';
import { AccessKeyVerifier, Authorizer, mayAccess, resolveProject } from '../../../lambda/auth/principals';
import { StaticKeySource } from '../../../lambda/adapters/key-sources';
import type { KeySource } from '../../../lambda/ports';
import { startTestStore, TestStore } from '../../helpers/dynamo';

let db: TestStore;
let keys: ApiKeys;
let authorizer: Authorizer;
beforeAll(async () => {
  db = await startTestStore();
  keys = new ApiKeys(db.apiKeys, new KeySealer(new StaticKeySource('sealing')), () => Date.parse('2026-11-21T12:00:00Z'));
  authorizer = new Authorizer(new StaticKeySource('master-key'), keys, async () => 3600);
});
afterAll(() => db.stop());

/** A key source whose key can change, counting forced refreshes. */
class RotatingKeys implements KeySource {
  cached: string;
  refreshes = 0;
  constructor(public current: string) {
    this.cached = current;
  }
  async get(options: { forceRefresh?: boolean } = {}) {
    if (options.forceRefresh) {
      this.refreshes++;
      this.cached = this.current;
    }
    return this.cached;
  }
}

describe('Authorizer', () => {
  it('knows the master key and project keys, and nothing else', async () => {
    const created = await keys.create('delta', '');
    if (!created.ok) throw new Error('not created');
    expect(await authorizer.identify('master-key')).toEqual({ kind: 'master' });
    expect(await authorizer.identify(created.value.apiKey)).toEqual({ kind: 'project', projectId: 'delta' });
    expect(await authorizer.identify('rbk_not-a-real-key')).toBeUndefined();
    expect(await authorizer.identify('wrong')).toBeUndefined();
    expect(await authorizer.identify(undefined)).toBeUndefined();
  });

  it('stops accepting a revoked key at once', async () => {
    const created = await keys.create('epsilon', '');
    if (!created.ok) throw new Error('not created');
    expect(await authorizer.identify(created.value.apiKey)).toBeDefined();
    await keys.revoke('epsilon');
    expect(await authorizer.identify(created.value.apiKey)).toBeUndefined();
  });

  it('verifies tokens signed by a current key of the project, never by the master key', async () => {
    const created = await keys.create('eta', '');
    if (!created.ok) throw new Error('not created');
    const token = await signClientToken({ sub: 'alice', channels: ['private-*'] }, created.value, 600);
    expect(await authorizer.verifyToken(token)).toEqual({
      ok: true,
      value: {
        userId: 'alice',
        projectId: 'eta',
        keyPrefix: created.value.keyPrefix,
        channels: ['private-*'],
        publish: [],
        monitor: false,
        observe: false,
        expiresAt: expect.any(Number),
      },
    });
    const byMaster = await signClientToken({ sub: 'alice' }, { apiKey: 'master-key', keyPrefix: created.value.keyPrefix }, 600);
    expect(await authorizer.verifyToken(byMaster)).toMatchObject({
      ok: false,
      error: { code: 'invalid_token', message: 'Invalid token: bad signature' },
    });
    await keys.revoke('eta');
    expect(await authorizer.verifyToken(token)).toMatchObject({ ok: false, error: { code: 'invalid_token' } });
  });

  it('does not accept an old key after the project gets a new one', async () => {
    const first = await keys.create('zeta', '');
    await keys.revoke('zeta');
    const second = await keys.create('zeta', '');
    if (!first.ok || !second.ok) throw new Error('not created');
    expect(await authorizer.identify(first.value.apiKey)).toBeUndefined();
    expect(await authorizer.identify(second.value.apiKey)).toEqual({ kind: 'project', projectId: 'zeta' });
  });
});

describe('mayAccess', () => {
  it('lets the master key reach any project and a project key only its own', () => {
    expect(mayAccess({ kind: 'master' }, 'a')).toBe(true);
    expect(mayAccess({ kind: 'project', projectId: 'a' }, 'a')).toBe(true);
    expect(mayAccess({ kind: 'project', projectId: 'a' }, 'b')).toBe(false);
  });
});

describe('resolveProject', () => {
  const master = { kind: 'master' } as const;
  const alpha = { kind: 'project', projectId: 'alpha' } as const;

  it('defaults to the project key’s own project, and to default for the master key', () => {
    expect(resolveProject(alpha, undefined)).toEqual({ ok: true, value: 'alpha' });
    expect(resolveProject(master, undefined)).toEqual({ ok: true, value: 'default' });
  });

  it('lets the master key name any project and a project key only its own', () => {
    expect(resolveProject(master, 'beta')).toEqual({ ok: true, value: 'beta' });
    expect(resolveProject(alpha, 'alpha')).toEqual({ ok: true, value: 'alpha' });
    expect(resolveProject(alpha, 'beta')).toEqual({
      ok: false,
      error: { code: 'unauthorized', message: "This key is project alpha's: a project key acts on its own project only" },
    });
    expect(resolveProject(alpha, 'default')).toMatchObject({ ok: false, error: { code: 'unauthorized' } });
  });
});

describe('AccessKeyVerifier', () => {
  it('accepts the previous key while the source still offers it, and not after', async () => {
    const source = new RotatingKeys('new');
    let previous: string | undefined = 'old';
    const withPrevious: KeySource = { get: (o) => source.get(o), previous: async () => previous };
    const verifier = new AccessKeyVerifier(withPrevious);
    expect(await verifier.verify('old')).toBe(true);
    expect(await verifier.verify('new')).toBe(true);
    previous = undefined;
    expect(await verifier.verify('old')).toBe(false);
  });

  it('accepts the current key and rejects others and absent ones', async () => {
    const verifier = new AccessKeyVerifier(new RotatingKeys('right'));
    expect(await verifier.verify('right')).toBe(true);
    expect(await verifier.verify('wrong')).toBe(false);
    expect(await verifier.verify(undefined)).toBe(false);
  });

  it('accepts a rotated key by refetching once on a mismatch', async () => {
    const keys = new RotatingKeys('old');
    const verifier = new AccessKeyVerifier(keys);
    keys.current = 'new';
    expect(await verifier.verify('new')).toBe(true);
    expect(keys.refreshes).toBe(1);
  });

  it('refetches at most once per interval however many bad keys arrive', async () => {
    let now = 1_000_000;
    const keys = new RotatingKeys('right');
    const verifier = new AccessKeyVerifier(keys, { refetchIntervalMs: 30_000, now: () => now });
    for (let i = 0; i < 10; i++) expect(await verifier.verify(`wrong-${i}`)).toBe(false);
    expect(keys.refreshes).toBe(1);
    now += 30_000;
    await verifier.verify('wrong-again');
    expect(keys.refreshes).toBe(2);
  });
});
