/**
 * Background tasks, run by one wrapper: each kind's work, its log line, and one rule for failure —
 * a task never throws. Lambda would run a failed asynchronous invocation again, and a task that
 * already posted would post twice; what failed is logged (and, for a shard, recorded) instead.
 */
import type { BackgroundTask, TaskName, TaskOf } from '../tasks';
import type { Services } from './services';

type Runner<N extends TaskName> = (task: TaskOf<N>, services: Services, deadline: number) => Promise<Record<string, unknown>>;

const RUNNERS: { readonly [N in TaskName]: Runner<N> } = {
  /** The `connected` message, once API Gateway has opened the connection. */
  welcome: async (task, services) => ({ outcome: await services.presence.welcome(task) }),

  /** Removes the connections a publish found gone; their departures tell the project's typed clients. */
  purge: async (task, services) => {
    // Left for DynamoDB's TTL, and for the next publish that meets them, if this fails.
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
  deliver: async (task, services, deadline) => {
    const { error, ...counts } = await services.bigChannels.run(task, deadline);
    if (error !== undefined)
      services.logger.error('deliver: part of the shard was not done', { publishId: task.publishId, error: error as Error });
    await services.projects.record(task.projectId, { deliveries: counts.sent });
    return { publishId: task.publishId, ...counts };
  },
};

/** What a task's log line names: the connection or channel it is about. */
function fieldsOf(task: BackgroundTask) {
  switch (task.task) {
    case 'welcome':
      return { connectionId: task.connectionId, projectId: task.projectId };
    case 'reap':
    case 'deliver':
      return { projectId: task.projectId, channel: task.channel };
    default:
      return {};
  }
}

/** Runs a task with the time its invocation has; never throws. */
export async function runTask(
  task: BackgroundTask,
  services: Services,
  options: { requestId?: string; remainingMs: number },
): Promise<void> {
  const { telemetry, logger } = services;
  await telemetry.request(fieldsOf(task), async () => {
    const runner = RUNNERS[task.task];
    try {
      const details = await runner(task as never, services, Date.now() + options.remainingMs);
      telemetry.requestDone(task.task, { requestId: options.requestId, ...details });
    } catch (error) {
      logger.error(`${task.task} failed`, { requestId: options.requestId, task: task.task, error: error as Error });
    }
  });
}
