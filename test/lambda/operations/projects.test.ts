/** The project operations' rules and their edges, with small typed fakes. */
import { OPEN_PROJECT_SETTINGS } from '../../../lambda/contract/limits';
import { OPERATIONS } from '../../../lambda/operations';
import { fail, ok } from '../../../lambda/protocol';
import { asConnection, asMaster, asProjectKey, fakeServices, scope } from '../../helpers/fake-services';

const access = {
  settings: { of: async () => OPEN_PROJECT_SETTINGS },
  signingKey: async () => undefined,
  now: () => Date.parse('2026-11-21T12:00:00.000Z'),
};
const RECORD = {
  id: 'p1',
  projectId: 'acme',
  event: 'e',
  queued: 1,
  sent: 1,
  failed: 0,
  stale: 0,
  done: true,
  createdAt: '',
};

describe('who may call the project operations', () => {
  it('keys, settings changes: only the master key, decided before any input is read', () => {
    for (const op of [OPERATIONS.createKey, OPERATIONS.listKeys, OPERATIONS.projectKeys, OPERATIONS.revokeKey, OPERATIONS.putSettings]) {
      expect({ name: op.name, master: op.access.gate(asMaster()), project: op.access.gate(asProjectKey()) }).toEqual({
        name: op.name,
        master: ok(undefined),
        project: {
          ok: false,
          error: { code: 'unauthorized', message: expect.stringMatching(/^This needs the master key: a project key \(rbk_…\)/) },
        },
      });
    }
  });

  it('usage, status, channels, namespaces, settings reads: the project’s own key or the master key', async () => {
    for (const op of [
      OPERATIONS.usage,
      OPERATIONS.status,
      OPERATIONS.channelInfo,
      OPERATIONS.listChannels,
      OPERATIONS.listNamespaces,
      OPERATIONS.getSettings,
    ]) {
      const input = { projectId: 'acme', channel: 'x', prefix: '' };
      expect(await op.access.check(asProjectKey('acme'), input as never, access)).toEqual(ok('acme'));
      expect(await op.access.check(asProjectKey('other'), input as never, access)).toMatchObject({
        ok: false,
        error: { code: 'unauthorized' },
      });
      expect(await op.access.check(asMaster(), input as never, access)).toEqual(ok('acme'));
      expect(await op.access.check(asConnection(), input as never, access)).toEqual(fail('unauthorized'));
    }
  });
});

describe('publish status', () => {
  it('is told to the master key and the publish’s own project, and looks missing to anyone else', async () => {
    const services = fakeServices({
      publishes: { get: async (id: string) => (id === 'p1' ? RECORD : undefined) },
      bigChannels: { status: async (record: typeof RECORD) => ({ ...record, status: 'done' }) },
    });
    const status = { ...RECORD, status: 'done' };
    expect(await OPERATIONS.publishStatus.run({ id: 'p1' }, scope(asProjectKey('acme')), services)).toEqual(ok(status));
    expect(await OPERATIONS.publishStatus.run({ id: 'p1' }, scope(asMaster(), 'default'), services)).toEqual(ok(status));
    expect(await OPERATIONS.publishStatus.run({ id: 'p1' }, scope(asProjectKey('other'), 'other'), services)).toEqual(
      fail('publish_not_found'),
    );
  });

  it('never takes an id that is no printable string to the store', async () => {
    const services = fakeServices({});
    expect(await OPERATIONS.publishStatus.run({ id: 'a b' }, scope(asMaster()), services)).toEqual(fail('publish_not_found'));
  });
});

describe('create key', () => {
  function keying(anonymousConnect: boolean) {
    const order: string[] = [];
    const services = fakeServices({
      settings: {
        protect: async () => void order.push('protect'),
        read: async (projectId: string) => ({ projectId, settings: { ...OPEN_PROJECT_SETTINGS, anonymousConnect }, updatedAt: null }),
      },
      apiKeys: {
        create: async (projectId: string) => (
          order.push('create'),
          ok({ projectId, keyPrefix: 'rbk_12345678', description: '', createdAt: '', signsTokens: true, apiKey: 'k' })
        ),
      },
      revocation: { closeAnonymous: async () => (order.push('close anonymous'), 3) },
      requireToken: false,
    });
    return { services, order };
  }

  it('closes the project to anonymous clients before its first key exists, then closes the anonymous connections it had', async () => {
    const { services, order } = keying(false);
    const created = await OPERATIONS.createKey.run({ projectId: 'acme', description: '' }, scope(asMaster()), services);
    expect(order).toEqual(['protect', 'create', 'close anonymous']);
    expect(created).toMatchObject({ ok: true, value: { keyPrefix: 'rbk_12345678', disconnected: 3 } });
  });

  it('leaves anonymous connections where the master key chose to keep taking them', async () => {
    const { services, order } = keying(true);
    const created = await OPERATIONS.createKey.run({ projectId: 'acme', description: '' }, scope(asMaster()), services);
    expect(order).toEqual(['protect', 'create']);
    expect(created).toMatchObject({ ok: true, value: { disconnected: 0 } });
  });
});
