/**
 * Webhooks in Pusher's format, fed by lifecycle events: each event a project's webhooks ask for is
 * collected while the handler's invocation runs, and when it ends, each URL's events go to one
 * background task (an asynchronous self-invocation) per batch. The task signs the body as Pusher
 * does (`X-Pusher-Key`, `X-Pusher-Signature`: HMAC-SHA256 of the body with the project's key) and
 * posts it; a receiver that does not answer 2xx within 5 s fails the task, and Lambda retries it (a
 * minute, then two, later) and then gives it up to the failure destination. So: at least once, a
 * receiver may see a batch again, in order per URL only as far as retries allow.
 */
import { createHmac } from 'node:crypto';
import type { Logger } from '@aws-lambda-powertools/logger';
import { ProjectSettings, WEBHOOK_LIMITS, WebhookEventName } from '../contract/limits';
import type { AsyncInvoker, WebhookFailure, WebhookFailureStore, WebhookSender } from '../ports';
import type { WebhookEvent, WebhookTask } from '../tasks';

/** The key a project's webhooks are signed with: Pusher's app key (the key's prefix) and secret. */
export interface WebhookKey {
  readonly keyPrefix: string;
  readonly apiKey: string;
}

export interface WebhooksDependencies {
  readonly settings: { of(projectId: string): Promise<ProjectSettings> };
  readonly invoker: AsyncInvoker;
  /** The project's signing key, if it has one. */
  readonly key: (projectId: string) => Promise<WebhookKey | undefined>;
  readonly sender: WebhookSender;
  readonly failures: WebhookFailureStore;
  readonly observer: { webhook(result: { delivered: number; latencyMs: number } | { failed: true }): void };
  readonly logger: Pick<Logger, 'warn'>;
  readonly now: () => number;
}

/** A task's payload stays well under Lambda's 256 KB for an asynchronous invocation. */
const MAX_TASK_BYTES = 200_000;

/**
 * Why a request got no answer, in words of our own: an error's message may quote the URL (and
 * whatever secret its path or query holds), so none is passed on.
 */
function reasonOf(cause: unknown): string {
  if ((cause as Error).name === 'TimeoutError') return `no answer in ${WEBHOOK_LIMITS.timeoutMs} ms`;
  const code = (cause as { cause?: { code?: unknown } }).cause?.code;
  return typeof code === 'string' && /^[A-Z_]{2,40}$/.test(code) ? `no answer (${code})` : 'no answer (the request could not be made)';
}

/** Why a webhook attempt failed: Lambda retries the task. */
export class WebhookFailed extends Error {
  readonly temporary = true;
}

export class Webhooks {
  /** Events collected in this invocation, by project and URL. */
  private readonly pending = new Map<string, { projectId: string; url: string; timeMs: number; events: WebhookEvent[] }>();

  constructor(private readonly deps: WebhooksDependencies) {}

  /** Keeps the event for each of the project's webhooks that asks for it, until {@link flush}; says how many did. */
  async collect(projectId: string, event: WebhookEvent & { name: WebhookEventName }): Promise<number> {
    let taken = 0;
    for (const hook of (await this.deps.settings.of(projectId)).webhooks) {
      if (!hook.events.includes(event.name)) continue;
      taken++;
      const key = `${projectId}\n${hook.url}`;
      const batch = this.pending.get(key) ?? { projectId, url: hook.url, timeMs: this.deps.now(), events: [] };
      batch.events.push(event);
      this.pending.set(key, batch);
    }
    return taken;
  }

  /** Hands what was collected to background tasks: one per URL and batch (≤ 100 events, ≤ 200 KB). */
  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const batches = [...this.pending.values()];
    this.pending.clear();
    const tasks: WebhookTask[] = [];
    for (const { projectId, url, timeMs, events } of batches) {
      let chunk: WebhookEvent[] = [];
      let bytes = 0;
      for (const event of events) {
        const size = Buffer.byteLength(JSON.stringify(event));
        if (chunk.length === WEBHOOK_LIMITS.eventsPerRequest || (chunk.length > 0 && bytes + size > MAX_TASK_BYTES)) {
          tasks.push({ task: 'webhook', projectId, url, timeMs, events: chunk });
          chunk = [];
          bytes = 0;
        }
        chunk.push(event);
        bytes += size;
      }
      tasks.push({ task: 'webhook', projectId, url, timeMs, events: chunk });
    }
    const started = await Promise.allSettled(tasks.map((task) => this.deps.invoker.invoke(task)));
    const lost = started.filter((outcome) => outcome.status === 'rejected').length;
    if (lost > 0) this.deps.logger.warn('webhook events not queued', { batches: lost });
  }

  /**
   * Signs and posts one batch. Dropped if the URL is no longer one of the project's webhooks, or
   * the project has no key left to sign with; throws {@link WebhookFailed} if the receiver did not
   * answer 2xx in time.
   */
  async deliver(task: WebhookTask): Promise<{ outcome: 'delivered' | 'dropped'; events: number; status?: number }> {
    const { projectId, url, events } = task;
    const hook = (await this.deps.settings.of(projectId)).webhooks.find((candidate) => candidate.url === url);
    const wanted = hook ? events.filter((event) => hook.events.includes(event.name as WebhookEventName)) : [];
    const key = wanted.length > 0 ? await this.deps.key(projectId) : undefined;
    if (!key) return { outcome: 'dropped', events: events.length };
    const body = JSON.stringify({ time_ms: task.timeMs, events: wanted });
    const headers = {
      'content-type': 'application/json',
      'x-pusher-key': key.keyPrefix,
      'x-pusher-signature': createHmac('sha256', key.apiKey).update(body).digest('hex'),
    };
    let status: number | undefined;
    let error: string | undefined;
    try {
      status = await this.deps.sender.post(url, body, headers, WEBHOOK_LIMITS.timeoutMs);
    } catch (cause) {
      error = reasonOf(cause);
    }
    if (status !== undefined && status >= 200 && status < 300) {
      this.deps.observer.webhook({ delivered: wanted.length, latencyMs: this.deps.now() - task.timeMs });
      return { outcome: 'delivered', events: wanted.length, status };
    }
    this.deps.observer.webhook({ failed: true });
    const failure: WebhookFailure = {
      at: new Date(this.deps.now()).toISOString(),
      url,
      ...(status !== undefined && { status }),
      ...(error !== undefined && { error }),
      events: wanted.length,
    };
    await this.deps.failures.record(projectId, failure, WEBHOOK_LIMITS.failuresKept).catch((cause: unknown) => {
      this.deps.logger.warn('webhook failure not recorded', { error: (cause as Error).message });
    });
    // The origin only: a URL's path or query may hold the receiver's own secret.
    throw new WebhookFailed(`webhook to ${new URL(url).origin} failed: ${status ?? error}`);
  }

  /** The project's last failed attempts, newest first. */
  failures(projectId: string): Promise<readonly WebhookFailure[]> {
    return this.deps.failures.recent(projectId);
  }
}
