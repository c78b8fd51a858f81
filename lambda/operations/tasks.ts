/**
 * Background tasks, run by one wrapper: each kind's work and its log line. Lambda may run a task's
 * event twice, and retries one that failed or timed out (twice, a minute and two apart), so every
 * task is safe to run again:
 * - `deliver` (a big channel's shard) holds its progress record: a retry resumes after the last
 *   page it recorded, a duplicate finds the record held or ended and does nothing;
 * - `welcome` holds its record too: `connected` is posted once;
 * - `purge` and `reap` delete conditionally, and only the call whose delete removed an item
 *   announces it: run twice, they announce nothing twice;
 * - `webhook` posts its batch again: webhooks are delivered at least once, as Pusher's are.
 * So a task that cannot finish throws, and Lambda's retry picks it up; after the last retry Lambda
 * sends the event to the function's failure destination.
 */
import { randomUUID } from 'node:crypto';
import { sleep } from '../contract/retry';
import type { Holder } from '../domain/task-lease';
import type { BackgroundTask, TaskName, TaskOf } from '../tasks';
import type { Services } from './services';

type Runner<N extends TaskName> = (task: TaskOf<N>, services: Services, holder: Holder) => Promise<Record<string, unknown>>;

const RUNNERS: { readonly [N in TaskName]: Runner<N> } = {
  /** The `connected` message, once API Gateway has opened the connection. */
  welcome: async (task, services, holder) => ({ outcome: await services.presence.welcome(task, holder) }),

  /** Removes the connections a publish found gone; their departures tell the project's typed clients. */
  purge: async (task, services) => {
    await services.membership.purge(task.gone);
    return { connections: task.gone.length };
  },

  /** Removes presence members found silent, and announces them; connections found gone are purged. */
  reap: async (task, services) => {
    const gone = await services.members.reap(task.projectId, task.channel, task.members);
    if (gone.length > 0) await services.membership.purge(gone);
    return { members: task.members.length };
  },

  /** One shard of a big channel's publish, until the invocation's time runs short (then it hands over). */
  deliver: async (task, services, holder) => {
    const run = await services.bigChannels.run(task, holder);
    if ('sent' in run) {
      // Usage is this invocation's own deliveries. An attempt killed or failed before it ended records
      // none, so usage can undercount by what it delivered (its retry counts only its own).
      await services.projects.record(task.projectId, { deliveries: run.sent }).catch((error: unknown) => {
        services.logger.warn('deliver: usage not recorded', { publishId: task.publishId, error: error as Error });
      });
    }
    return { publishId: task.publishId, taskId: task.taskId, ...run };
  },

  /** A user came online or went offline: its watchers are told. */
  watchlist: async (task, services) => ({ watchers: await services.watchlists.tell(task.projectId, task.userId, task.name) }),

  /** A channel's count notice at the end of its window. */
  count: async (task, services) => ({ count: await services.subscriptionCounts.due(task.projectId, task.channel, task.at) }),

  /** One batch of webhook events to one URL: a failure throws, for Lambda to retry it. */
  webhook: async (task, services) => ({ ...(await services.webhooks.deliver(task)) }),
};

/** What a task's log line names: the connection or channel it is about. */
function fieldsOf(task: BackgroundTask) {
  switch (task.task) {
    case 'welcome':
      return { connectionId: task.connectionId, projectId: task.projectId };
    case 'reap':
    case 'deliver':
    case 'count':
      return { projectId: task.projectId, channel: task.channel };
    case 'webhook':
    case 'watchlist':
      return { projectId: task.projectId };
    default:
      return {};
  }
}

/** Runs a task with the time its invocation has; throws (after logging) when it failed, for Lambda to retry it. */
export async function runTask(
  task: BackgroundTask,
  services: Services,
  options: { requestId?: string; remainingMs: number },
): Promise<void> {
  const { telemetry, logger } = services;
  const holder: Holder = {
    ledger: services.tasks,
    owner: `${options.requestId ?? 'local'}/${randomUUID()}`,
    deadline: services.now() + options.remainingMs,
    now: services.now,
    sleep,
  };
  await telemetry.request(fieldsOf(task), async () => {
    const runner = RUNNERS[task.task];
    try {
      const details = await runner(task as never, services, holder);
      telemetry.requestDone(task.task, { requestId: options.requestId, ...details });
    } catch (error) {
      logger.error(`${task.task} failed; Lambda retries it`, { requestId: options.requestId, task: task.task, error: error as Error });
      throw error;
    }
  });
}
