/** Namespaces: a channel's configuration from the project's own over the defaults, cached 30 s; validated changes. */
import { namespaceOf } from '../../../lambda/contract/namespaces';
import { Namespaces } from '../../../lambda/domain/namespaces';
import type { NamespaceStore, StoredNamespace } from '../../../lambda/ports';

function setup() {
  const stored = new Map<string, StoredNamespace>();
  let reads = 0;
  const store: NamespaceStore = {
    list: async (projectId) => (reads++, [...stored.entries()].filter(([k]) => k.startsWith(`${projectId}/`)).map(([, v]) => v)),
    put: async (projectId, ns) => void stored.set(`${projectId}/${ns.namespace}`, ns),
    remove: async (projectId, namespace) => stored.delete(`${projectId}/${namespace}`),
  };
  let now = 0;
  const namespaces = new Namespaces(store, { chat: { history: { size: 10, ttlSeconds: 60 } }, _: { presence: true } }, () => now);
  return { namespaces, reads: () => reads, tick: (ms: number) => (now += ms) };
}

describe('namespaceOf', () => {
  it.each([
    ['chat:room-1', 'chat'],
    ['logs:thread-123', 'logs'],
    ['a:b:c', 'a'],
    ['plain', '_'],
    [':leading', '_'],
  ])('%s is in %s', (channel, namespace) => expect(namespaceOf(channel)).toBe(namespace));
});

describe('Namespaces', () => {
  it('applies the defaults, presence on every presence- channel, and nothing to reserved channels', async () => {
    const { namespaces } = setup();
    expect(await namespaces.of('p', 'chat:1')).toEqual({ history: { size: 10, ttlSeconds: 60 }, presence: false });
    expect(await namespaces.of('p', 'plain')).toEqual({ presence: true });
    expect(await namespaces.of('p', 'other:1')).toEqual({ presence: false });
    expect(await namespaces.of('p', 'presence-x:1')).toEqual({ presence: true });
    expect(await namespaces.of('p', '$all')).toEqual({ presence: false });
  });

  it('lets a project replace a default whole, reads each project once per 30 s, and sees its own change at once', async () => {
    const { namespaces, reads, tick } = setup();
    await namespaces.of('p', 'chat:1');
    await namespaces.of('p', 'chat:2');
    expect(reads()).toBe(1);
    expect(await namespaces.put('p', 'chat', { presence: true })).toMatchObject({
      ok: true,
      value: { namespace: 'chat', source: 'project' },
    });
    expect(await namespaces.of('p', 'chat:1')).toEqual({ presence: true });
    expect(await namespaces.of('q', 'chat:1')).toMatchObject({ history: { size: 10 } });
    tick(31_000);
    const before = reads();
    await namespaces.of('p', 'chat:1');
    expect(reads()).toBe(before + 1);
    await namespaces.remove('p', 'chat');
    expect(await namespaces.of('p', 'chat:1')).toMatchObject({ history: { size: 10 } });
  });

  it('refuses bad names and configurations without storing anything', async () => {
    const { namespaces } = setup();
    expect(await namespaces.put('p', 'has space', { presence: true })).toMatchObject({ ok: false, error: { code: 'invalid_namespace' } });
    expect(await namespaces.put('p', 'chat', { history: { size: 0, ttlSeconds: 60 } })).toMatchObject({
      ok: false,
      error: { code: 'invalid_namespace_config' },
    });
    expect((await namespaces.list('p')).map((n) => n.source)).toEqual(['default', 'default']);
  });
});
