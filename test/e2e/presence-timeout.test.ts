/**
 * Presence's timeout end to end, shortened to 1 s: a member whose connection stays open but stops
 * pinging is no longer listed and is removed (with member_removed) in the background; one that
 * pings stays.
 */
import { useLocalStack, waitFor } from '../helpers/e2e';

const e2e = useLocalStack({ accessKey: 'presence-timeout-key', settings: { PRESENCE_TIMEOUT_SECONDS: '1' } });

const members = async () => {
  const response = await fetch(`${e2e.stack().httpUrl}/channels/presence-quiet/users?projectId=quiet`, {
    headers: { Authorization: 'Bearer presence-timeout-key' },
  });
  return (await response.json()).data.members.map((m: { userId: string }) => m.userId);
};

it('drops a member silent past the timeout and removes it in the background; a pinging member stays', async () => {
  const asUser = async (sub: string) =>
    (await e2e.connect({ token: await e2e.tokenFor('quiet', { sub, channels: ['presence-*'] }) })).client;
  await e2e.createKey('quiet');
  const [pinger, silent, watcher] = await Promise.all([asUser('pinger'), asUser('silent'), asUser('watcher')]);
  for (const client of [watcher, pinger, silent]) await e2e.subscribe(client, 'presence-quiet');
  expect(await members()).toEqual(['pinger', 'silent', 'watcher']);

  // Both other members keep pinging (the raw text form and the action); `silent` does not.
  const keepAlive = setInterval(() => {
    pinger.send('ping');
    watcher.send({ action: 'ping' });
  }, 300);
  try {
    await new Promise((resolve) => setTimeout(resolve, 1600));
    expect(await members()).toEqual(['pinger', 'watcher']);
    // The read started the removal, announced to the channel.
    expect(await watcher.next((m) => m.type === 'member_removed')).toEqual({
      kind: 'notice',
      type: 'member_removed',
      channel: 'presence-quiet',
      member: { userId: 'silent' },
    });
    await waitFor(async () => (await members()).length === 2);
  } finally {
    clearInterval(keepAlive);
  }
});
