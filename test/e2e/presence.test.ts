/**
 * Presence end to end: members by token `sub`, counted once however many connections; one
 * `member_added` and one `member_removed`; anonymous connections refused; ghosts gone after a 410
 * purge; member lists over both transports; lifecycle events in the local stack's file.
 */
import { readFile } from 'node:fs/promises';
import { useLocalStack, waitFor } from '../helpers/e2e';
import { TestClient } from '../helpers/clients';

const MASTER = 'presence-master-key';
const PROJECT = 'pres';
const e2e = useLocalStack({ accessKey: MASTER, settings: { NAMESPACES: JSON.stringify({ room: { presence: true } }) } });

const asUser = async (sub: string, info?: Record<string, unknown>) =>
  e2e.connect({ token: await e2e.tokenFor(PROJECT, { sub, channels: ['presence-*'], ...(info && { info }) }) });

async function join(client: TestClient, channel: string) {
  client.send({ action: 'subscribe', channel });
  const confirmed = await client.next((m) => m.type === 'subscription_succeeded' || m.type === 'error');
  const index = client.messages.findIndex((raw) => raw.includes('"connection_id"'));
  if (index >= 0) client.messages.splice(index, 1);
  return confirmed;
}

const users = async (channel: string, projectId = PROJECT) => {
  const response = await fetch(`${e2e.stack().httpUrl}/channels/${channel}/users?projectId=${projectId}`, {
    headers: { Authorization: `Bearer ${MASTER}` },
  });
  return { status: response.status, json: await response.json() };
};

describe('presence', () => {
  it('counts a user once across two connections: one member_added, one member_removed after both leave', async () => {
    const { client: bob } = await asUser('bob', { name: 'Bob' });
    expect(await join(bob, 'presence-lobby')).toEqual({ kind: 'reply', type: 'subscription_succeeded', channel: 'presence-lobby' });
    const { client: alice1 } = await asUser('alice', { name: 'Alice' });
    const { client: alice2 } = await asUser('alice', { name: 'Alice' });

    await join(alice1, 'presence-lobby');
    expect(await bob.next()).toEqual({
      kind: 'notice',
      type: 'member_added',
      channel: 'presence-lobby',
      member: { userId: 'alice', info: { name: 'Alice' } },
    });
    await join(alice2, 'presence-lobby');
    // Subscribing again is harmless: no second member_added.
    await join(alice1, 'presence-lobby');

    alice2.send({ action: 'presence', channel: 'presence-lobby' });
    expect(await alice2.next((m) => m.type === 'presence')).toEqual({
      kind: 'reply',
      type: 'presence',
      channel: 'presence-lobby',
      members: [
        { userId: 'alice', info: { name: 'Alice' } },
        { userId: 'bob', info: { name: 'Bob' } },
      ],
      count: 2,
    });
    expect((await users('presence-lobby')).json).toEqual({
      success: true,
      data: {
        channel: 'presence-lobby',
        members: [
          { userId: 'alice', info: { name: 'Alice' } },
          { userId: 'bob', info: { name: 'Bob' } },
        ],
        count: 2,
      },
    });

    await alice1.close();
    alice2.send({ action: 'unsubscribe', channel: 'presence-lobby' });
    await alice2.next((m) => m.type === 'unsubscribe_succeeded');
    expect(await bob.next()).toEqual({
      kind: 'notice',
      type: 'member_removed',
      channel: 'presence-lobby',
      member: { userId: 'alice', info: { name: 'Alice' } },
    });
    await e2e.barrier(bob);
    // Exactly one of each: nothing else reached bob.
    expect(bob.messages).toEqual([]);
    expect((await users('presence-lobby')).json.data.members).toEqual([{ userId: 'bob', info: { name: 'Bob' } }]);
  });

  it('tracks members on a namespace with presence on, and refuses anonymous connections there', async () => {
    const { client: anonymous } = await e2e.connect();
    expect(await join(anonymous, 'room:1')).toMatchObject({ kind: 'reply', type: 'error', code: 'identity_required' });
    // Nothing was stored for the refused subscribe.
    expect((await users('room:1', 'default')).json.data.count).toBe(0);

    const { client: carol } = await asUser('carol');
    await join(carol, 'room:1');
    expect((await users('room:1')).json.data.members).toEqual([{ userId: 'carol' }]);
    expect((await users('plain')).json).toMatchObject({ code: 'presence_not_enabled' });
    carol.send({ action: 'presence', channel: 'plain' });
    expect(await carol.next()).toMatchObject({ kind: 'reply', type: 'error', code: 'presence_not_enabled' });
  });

  it('removes a ghost: a connection lost without $disconnect is purged at the next publish, with member_removed', async () => {
    const { client: watcher } = await asUser('watcher');
    await join(watcher, 'room:ghosts');
    const { client: ghost, id: ghostId } = await asUser('ghost');
    await join(ghost, 'room:ghosts');
    expect(await watcher.next()).toMatchObject({ kind: 'notice', type: 'member_added', member: { userId: 'ghost' } });

    e2e.stack().gateway.dropWithoutDisconnect(ghostId);
    // Still listed: nothing has noticed yet.
    expect((await users('room:ghosts')).json.data.count).toBe(2);
    const published = await e2e.broadcast({ projectId: PROJECT, channel: 'room:ghosts', event: 'e' });
    expect(published.json).toMatchObject({ sent: 1, stale: 1 });
    expect(await watcher.next((m) => m.type === 'member_removed')).toEqual({
      kind: 'notice',
      type: 'member_removed',
      channel: 'room:ghosts',
      member: { userId: 'ghost' },
    });
    expect((await users('room:ghosts')).json.data.members).toEqual([{ userId: 'watcher' }]);
  });

  it('writes lifecycle events to the local file: occupied, member added and removed, vacated', async () => {
    const { client: dana } = await asUser('dana');
    await join(dana, 'room:events');
    await dana.close();
    const file = e2e.stack().lifecycleEventsFile!;
    const events = async () =>
      (await readFile(file, 'utf8'))
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line))
        .filter((event) => event.detail.channel === 'room:events');
    await waitFor(async () => (await events()).length === 4);
    expect((await events()).map((event) => [event['detail-type'], event.detail.userId])).toEqual([
      ['channel_occupied', undefined],
      ['member_added', 'dana'],
      ['member_removed', 'dana'],
      ['channel_vacated', undefined],
    ]);
    expect((await events())[0]).toMatchObject({
      source: 'realtime-broadcast',
      account: '000000000000',
      detail: { projectId: PROJECT, channel: 'room:events', time: expect.any(String) },
    });
  });
});
