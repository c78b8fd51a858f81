/**
 * Webhooks: what a batch holds and how it is split, what is dropped, how a failure is recorded and
 * thrown for Lambda to retry; flushing never throws. Receivers here are stand-ins (the e2e suite
 * posts to a real one and checks signatures with the pusher SDK).
 */
import { createHmac } from 'node:crypto';
import { OPEN_PROJECT_SETTINGS, ProjectSettings } from '../../../lambda/contract/limits';
import { WebhookFailed, Webhooks } from '../../../lambda/domain/webhooks';
import type { BackgroundTask, WebhookFailure } from '../../../lambda/ports';
import type { WebhookTask } from '../../../lambda/tasks';

const NOW = Date.parse('2026-11-30T10:00:00.000Z');
const URL_A = 'https://a.example/hooks';
const URL_B = 'https://b.example/hooks';

function setup(options: { status?: number | Error; webhooks?: ProjectSettings['webhooks']; invokeFails?: boolean } = {}) {
  const invoked: BackgroundTask[] = [];
  const posted: { url: string; body: string; headers: Readonly<Record<string, string>> }[] = [];
  const failures: WebhookFailure[] = [];
  const observed: unknown[] = [];
  const webhooks = new Webhooks({
    settings: {
      of: async () => ({
        ...OPEN_PROJECT_SETTINGS,
        webhooks: options.webhooks ?? [
          { url: URL_A, events: ['channel_occupied', 'client_event'] },
          { url: URL_B, events: ['channel_occupied'] },
        ],
      }),
    },
    invoker: { invoke: async (task) => (options.invokeFails ? Promise.reject(new Error('throttled')) : void invoked.push(task)) },
    key: async () => ({ keyPrefix: 'rbk_abc', apiKey: 'secret' }),
    sender: {
      post: async (url, body, headers) => {
        posted.push({ url, body, headers });
        if (options.status instanceof Error) throw options.status;
        return options.status ?? 200;
      },
    },
    failures: { record: async (_, failure) => void failures.push(failure), recent: async () => failures },
    observer: { webhook: (result) => void observed.push(result) },
    logger: { warn: () => undefined },
    now: () => NOW,
  });
  return { webhooks, invoked, posted, failures, observed };
}

describe('Webhooks', () => {
  it('collects each event for the webhooks that ask for it, and flushes one task per URL', async () => {
    const { webhooks, invoked } = setup();
    await webhooks.collect('p', { name: 'channel_occupied', channel: 'a' });
    await webhooks.collect('p', { name: 'client_event', channel: 'a', event: 'client-x', data: '{}' });
    await webhooks.collect('p', { name: 'member_added', channel: 'a', user_id: 'u' });
    await webhooks.flush();
    expect(invoked).toEqual([
      {
        task: 'webhook',
        projectId: 'p',
        url: URL_A,
        timeMs: NOW,
        events: [
          { name: 'channel_occupied', channel: 'a' },
          { name: 'client_event', channel: 'a', event: 'client-x', data: '{}' },
        ],
      },
      { task: 'webhook', projectId: 'p', url: URL_B, timeMs: NOW, events: [{ name: 'channel_occupied', channel: 'a' }] },
    ]);
    // Flushed: nothing is sent twice.
    await webhooks.flush();
    expect(invoked).toHaveLength(2);
  });

  it('splits a batch at 100 events and at 200 KB, and never throws from a flush', async () => {
    const { webhooks, invoked } = setup({ webhooks: [{ url: URL_A, events: ['channel_occupied', 'client_event'] }] });
    for (let i = 0; i < 250; i++) await webhooks.collect('p', { name: 'channel_occupied', channel: `c${i}` });
    for (let i = 0; i < 30; i++)
      await webhooks.collect('p', { name: 'client_event', channel: 'big', event: 'client-x', data: 'x'.repeat(10_000) });
    await webhooks.flush();
    const sizes = invoked.map((task) => (task as WebhookTask).events.length);
    // 100 at most; the third ends where 200 KB would be passed (50 small events, then 19 of ~10 KB).
    expect(sizes).toEqual([100, 100, 69, 11]);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(280);
    for (const task of invoked) expect(JSON.stringify(task).length).toBeLessThan(256 * 1024);

    const failing = setup({ invokeFails: true });
    await failing.webhooks.collect('p', { name: 'channel_occupied', channel: 'c' });
    await expect(failing.webhooks.flush()).resolves.toBeUndefined();
  });

  it('signs the body with the project key, as Pusher does, and posts only the events the URL still asks for', async () => {
    const { webhooks, posted, observed } = setup();
    const task: WebhookTask = {
      task: 'webhook',
      projectId: 'p',
      url: URL_B,
      timeMs: NOW - 250,
      events: [
        { name: 'channel_occupied', channel: 'a' },
        { name: 'client_event', channel: 'a', event: 'client-x', data: '{}' },
      ],
    };
    expect(await webhooks.deliver(task)).toEqual({ outcome: 'delivered', events: 1, status: 200 });
    const [{ body, headers }] = posted;
    expect(JSON.parse(body)).toEqual({ time_ms: NOW - 250, events: [{ name: 'channel_occupied', channel: 'a' }] });
    expect(headers['x-pusher-key']).toBe('rbk_abc');
    expect(headers['x-pusher-signature']).toBe(createHmac('sha256', 'secret').update(body).digest('hex'));
    expect(observed).toEqual([{ delivered: 1, latencyMs: 250 }]);
    // A URL the project no longer has: dropped, not posted.
    expect(await webhooks.deliver({ ...task, url: 'https://gone.example/' })).toMatchObject({ outcome: 'dropped' });
    expect(posted).toHaveLength(1);
  });

  it('records a failed attempt without the URL’s secrets in the error, and throws it for Lambda to retry', async () => {
    const task: WebhookTask = {
      task: 'webhook',
      projectId: 'p',
      url: URL_A,
      timeMs: NOW,
      events: [{ name: 'channel_occupied', channel: 'a' }],
    };
    const refused = setup({ status: 500, webhooks: [{ url: URL_A, events: ['channel_occupied'] }] });
    const thrown = await refused.webhooks.deliver(task).catch((error: unknown) => error);
    expect(thrown).toBeInstanceOf(WebhookFailed);
    expect((thrown as WebhookFailed).temporary).toBe(true);
    expect(refused.failures).toEqual([{ at: new Date(NOW).toISOString(), url: URL_A, status: 500, events: 1 }]);
    expect(refused.observed).toEqual([{ failed: true }]);

    const secretUrl = 'https://c.example/hooks?token=s3cret';
    const timedOut = setup({
      status: Object.assign(new Error('aborted'), { name: 'TimeoutError' }),
      webhooks: [{ url: secretUrl, events: ['channel_occupied'] }],
    });
    const error = (await timedOut.webhooks.deliver({ ...task, url: secretUrl }).catch((e: unknown) => e)) as Error;
    expect(error.message).toBe('webhook to https://c.example failed: no answer in 5000 ms');
    expect(timedOut.failures[0]).toMatchObject({ error: 'no answer in 5000 ms' });
  });
});
