/**
 * Background tasks: work the handler hands to an asynchronous invocation of itself, declared and
 * validated here once. A payload that does not match its schema is no task (and is never run).
 */
import * as z from 'zod/mini';

const connectionId = z.string().check(z.minLength(1), z.maxLength(128));
const projectId = z.string().check(z.minLength(1), z.maxLength(64));
const channel = z.string().check(z.minLength(1), z.maxLength(128));

/** A subscription, as the subscriptions table keys it. */
const subscriptionKey = z.object({ projectId, channel, connectionId });

const TASK_SCHEMAS = {
  /** The `connected` message, once API Gateway has opened the connection. */
  welcome: z.object({
    task: z.literal('welcome'),
    connectionId,
    projectId,
    clientType: z.optional(z.string()),
    /** The project's open connections, as counted when this one connected. */
    clientCount: z.number(),
    /** The connection speaks Pusher's protocol: `pusher:connection_established` instead of `connected`. */
    protocol: z.optional(z.literal('pusher')),
    /** A Pusher connection refused: `pusher:error` with this code and message, then the connection closed. */
    refusal: z.optional(z.object({ code: z.number(), message: z.string().check(z.maxLength(1000)) })),
  }),
  /** Removing connections a publish found gone (410), and telling who remains: after its answer. */
  purge: z.object({
    task: z.literal('purge'),
    gone: z.array(z.object({ connectionId, foundThrough: z.optional(subscriptionKey) })),
  }),
  /** Presence members found silent on a read: removed unless they spoke since, and announced. */
  reap: z.object({
    task: z.literal('reap'),
    projectId,
    channel,
    members: z.array(z.object({ userId: z.string(), version: z.number() })),
  }),
  /** One shard of a big channel's publish: a range of its subscribers. */
  deliver: z.object({
    task: z.literal('deliver'),
    publishId: z.string(),
    /** The task within its publish (`s3`, its continuations `s3.0`, `s3.1`…): its progress record's key. */
    taskId: z.string().check(z.minLength(1), z.maxLength(200)),
    projectId,
    channel,
    /** The message as sent to every subscriber. */
    body: z.string(),
    /** Connection ids from `from` to `to` (inclusive, by byte order), resuming after `after`. */
    range: z.object({ from: z.string(), to: z.string(), after: z.optional(z.string()) }),
    /** The range has been read to its end; only `retry` is left. */
    rangeDone: z.optional(z.boolean()),
    /** Subscribers still throttled when the last invocation ran out of time (a Pusher subscriber's id marked `!`). */
    retry: z.optional(z.array(z.string().check(z.minLength(1), z.maxLength(129)))),
    /** This shard's share of the delivery budget. */
    ratePerSecond: z.number().check(z.positive()),
    /** A connection not to deliver to (Pusher's `socket_id` on a trigger). */
    exclude: z.optional(connectionId),
  }),
  /** A signed-in user came online or went offline: its watchers are told. */
  watchlist: z.object({
    task: z.literal('watchlist'),
    projectId,
    userId: z.string().check(z.minLength(1), z.maxLength(128)),
    name: z.enum(['online', 'offline']),
  }),
  /** A channel's subscriber count notice, after its window: the count then, to its subscribers. */
  count: z.object({ task: z.literal('count'), projectId, channel, at: z.number() }),
  /** Webhook events for one URL of a project, in Pusher's form: signed and posted, retried by Lambda until it answers 2xx. */
  webhook: z.object({
    task: z.literal('webhook'),
    projectId,
    url: z.string().check(z.minLength(1), z.maxLength(2048)),
    /** When they happened (epoch ms): the body's `time_ms`. */
    timeMs: z.number(),
    events: z
      .array(
        z.object({
          name: z.string().check(z.maxLength(64)),
          channel,
          user_id: z.optional(z.string().check(z.maxLength(128))),
          event: z.optional(z.string().check(z.maxLength(200))),
          data: z.optional(z.string().check(z.maxLength(128 * 1024))),
          socket_id: z.optional(z.string().check(z.maxLength(40))),
          subscription_count: z.optional(z.number()),
        }),
      )
      .check(z.minLength(1), z.maxLength(100)),
  }),
} as const;

export type TaskName = keyof typeof TASK_SCHEMAS;
export const TASK_NAMES = Object.keys(TASK_SCHEMAS) as TaskName[];

/** A task of one kind, as its payload. */
export type TaskOf<N extends TaskName> = z.infer<(typeof TASK_SCHEMAS)[N]>;
export type BackgroundTask = { [N in TaskName]: TaskOf<N> }[TaskName];

export type WelcomeTask = TaskOf<'welcome'>;
export type PurgeTask = TaskOf<'purge'>;
export type ReapTask = TaskOf<'reap'>;
export type DeliverTask = TaskOf<'deliver'>;
export type WebhookTask = TaskOf<'webhook'>;
/** One event of a webhook's body, as Pusher sends it. */
export type WebhookEvent = WebhookTask['events'][number];

/** The task an invocation's event is, if it is one and well-formed; undefined otherwise. */
export function parseTask(event: unknown): BackgroundTask | undefined {
  const name = (event as { task?: unknown } | null)?.task;
  if (typeof name !== 'string' || !Object.hasOwn(TASK_SCHEMAS, name)) return undefined;
  const parsed = TASK_SCHEMAS[name as TaskName].safeParse(event);
  return parsed.success ? parsed.data : undefined;
}
