/**
 * The shared handler's core: tells WebSocket events from HTTP API events, looks up the route,
 * and is the one error boundary: anything unexpected becomes a clean error, never a throw to API
 * Gateway.
 */
import type { Context } from 'aws-lambda';
import { HANDLER_TIMEOUT_SECONDS } from '../contract/limits';
import { METRIC, MetricName } from '../contract/metrics';
import type { HttpRouteKey, WebSocketRouteKey } from '../contract/routes';
import type { WelcomeTask } from '../domain/presence';
import { ErrorCode, failure } from '../protocol';
import type { DeliverTask } from '../domain/big-channels';
import { classifyEvent, HttpEvent, HttpResult, PurgeTask, ReapTask, WebSocketEvent, WebSocketResult } from './gateway-events';

/** A background task's time when the runtime does not say: the function's 29 s timeout. */
const DEFAULT_TASK_TIME_MS = HANDLER_TIMEOUT_SECONDS * 1000;
import { errorResponse, HttpDependencies, HTTP_ROUTES } from './http';
import { echoRequestId, errorReply, WebSocketDependencies, WEBSOCKET_ROUTES } from './websocket';

/** Everything the routes use, built once per execution environment (see `compose.ts`). */
export type Services = WebSocketDependencies & HttpDependencies;

export type Handler = (event: unknown, context?: Partial<Context>) => Promise<WebSocketResult | HttpResult>;

const INTERNAL = failure(ErrorCode.internalError);
const UNAVAILABLE = failure(ErrorCode.unavailable);

/** AWS errors that say "busy or down, try later" (throttling, 5xx, no answer), as the SDKs mark them. */
const TRANSIENT = /Throttl|ThroughputExceeded|RequestLimitExceeded|LimitExceeded|InternalServerError|ServiceUnavailable|TimeoutError|NoResponseError/;

/** Whether a failure is the store's or a service's being unavailable, rather than a bug. */
export function isUnavailable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as { name?: unknown; $fault?: unknown; $retryable?: unknown; status?: unknown };
  return e.$fault === 'server' || e.$retryable !== undefined || (typeof e.name === 'string' && TRANSIENT.test(e.name)) || (typeof e.status === 'number' && (e.status === 429 || e.status >= 500));
}

/** WebSocket routes whose successes are counted. */
const COUNTED_ROUTES: Partial<Record<WebSocketRouteKey, MetricName>> = {
  $connect: METRIC.connects,
  $disconnect: METRIC.disconnects,
  subscribe: METRIC.subscribes,
};

const elapsed = (started: number) => Math.round(performance.now() - started);


export function createHandler(services: Services): Handler {
  const { telemetry, presence } = services;
  const { logger } = telemetry;

  async function onWebSocket(event: WebSocketEvent, requestId?: string): Promise<WebSocketResult> {
    const { routeKey, connectionId, eventType } = event.requestContext;
    // Own properties only: a route key like `__proto__` is no route.
    const route = Object.hasOwn(WEBSOCKET_ROUTES, routeKey) ? WEBSOCKET_ROUTES[routeKey as WebSocketRouteKey] : WEBSOCKET_ROUTES.$default;
    return telemetry.request({ connectionId }, async () => {
      const started = performance.now();
      let result: WebSocketResult;
      try {
        result = await route(event, services);
      } catch (error) {
        logger.error('websocket request failed', { requestId, routeKey, connectionId, error: error as Error });
        // $connect and $disconnect have no one to reply to; a 5xx on $connect refuses the connection.
        const unavailable = isUnavailable(error);
        result = eventType === 'MESSAGE' ? errorReply(unavailable ? UNAVAILABLE : INTERNAL) : { statusCode: unavailable ? 503 : 500 };
      }
      const succeeded = !telemetry.countFailure() && result.statusCode === 200;
      const metric = Object.hasOwn(COUNTED_ROUTES, routeKey) ? COUNTED_ROUTES[routeKey as WebSocketRouteKey] : undefined;
      if (succeeded && metric) telemetry.count(metric);
      telemetry.requestDone('websocket request', { requestId, routeKey, statusCode: result.statusCode, durationMs: elapsed(started) });
      return eventType === 'MESSAGE' ? echoRequestId(event, result) : result;
    });
  }

  async function onHttp(event: HttpEvent, requestId?: string): Promise<HttpResult> {
    const { routeKey } = event;
    const route = Object.hasOwn(HTTP_ROUTES, routeKey) ? HTTP_ROUTES[routeKey as HttpRouteKey] : undefined;
    return telemetry.request({}, async () => {
      const started = performance.now();
      let result: HttpResult;
      try {
        result = route
          ? await route(event, services)
          : errorResponse({ code: ErrorCode.notFound, message: `No route ${event.requestContext.http.method} ${event.rawPath}` });
      } catch (error) {
        logger.error('http request failed', { requestId, routeKey, error: error as Error });
        result = errorResponse(isUnavailable(error) ? UNAVAILABLE : INTERNAL);
      }
      telemetry.countFailure();
      telemetry.requestDone('http request', { requestId, routeKey, statusCode: result.statusCode, durationMs: elapsed(started) });
      return result;
    });
  }

  async function onTask(task: WelcomeTask | PurgeTask | ReapTask | DeliverTask, requestId?: string, context?: Partial<Context>): Promise<WebSocketResult> {
    if (task.task === 'purge') return onPurge(task, requestId);
    if (task.task === 'reap') return onReap(task, requestId);
    if (task.task === 'deliver') return onDeliver(task, requestId, context);
    return onWelcome(task, requestId);
  }

  /**
   * One shard of a big channel's publish, until the invocation's time runs short (then it hands
   * over). Never throws: Lambda would run a failed asynchronous invocation again, and deliver twice.
   */
  async function onDeliver(task: DeliverTask, requestId?: string, context?: Partial<Context>): Promise<WebSocketResult> {
    return telemetry.request({ projectId: task.projectId, channel: task.channel }, async () => {
      const remaining = context?.getRemainingTimeInMillis?.() ?? DEFAULT_TASK_TIME_MS;
      try {
        const { error, ...counts } = await services.bigChannels.run(task, Date.now() + remaining);
        if (error !== undefined) logger.error('deliver: part of the shard was not done', { requestId, publishId: task.publishId, error: error as Error });
        await services.projects.record(task.projectId, { deliveries: counts.sent });
        telemetry.requestDone('deliver', { requestId, publishId: task.publishId, ...counts });
      } catch (error) {
        logger.error('deliver failed', { requestId, publishId: task.publishId, error: error as Error });
      }
      return { statusCode: 200 };
    });
  }

  /** Removes the connections a publish found gone; their departures tell the project's typed clients. */
  async function onPurge(task: PurgeTask, requestId?: string): Promise<WebSocketResult> {
    return telemetry.request({}, async () => {
      try {
        await services.membership.purge(task.gone);
        telemetry.requestDone('purge', { requestId, connections: task.gone.length });
      } catch (error) {
        // Left for DynamoDB's TTL, and for the next publish that meets them.
        logger.error('purge failed', { requestId, connections: task.gone.length, error: error as Error });
      }
      return { statusCode: 200 };
    });
  }

  /** Removes presence members found silent, and announces them; connections found gone are purged. */
  async function onReap(task: ReapTask, requestId?: string): Promise<WebSocketResult> {
    return telemetry.request({ projectId: task.projectId, channel: task.channel }, async () => {
      try {
        const gone = await services.members.reap(task.projectId, task.channel, task.members);
        if (gone.length > 0) await services.membership.purge(gone);
        telemetry.requestDone('reap', { requestId, members: task.members.length });
      } catch (error) {
        logger.error('reap failed', { requestId, members: task.members.length, error: error as Error });
      }
      return { statusCode: 200 };
    });
  }

  async function onWelcome(task: WelcomeTask, requestId?: string): Promise<WebSocketResult> {
    return telemetry.request({ connectionId: task.connectionId, projectId: task.projectId }, async () => {
      try {
        const outcome = await presence.welcome(task);
        telemetry.requestDone('welcome', { requestId, outcome });
      } catch (error) {
        logger.error('welcome failed', { requestId, connectionId: task.connectionId, error: error as Error });
      }
      return { statusCode: 200 };
    });
  }

  // The request id goes on each line rather than into the logger's shared keys: the local stack
  // runs invocations concurrently in one process.
  return async (event, context) => {
    const requestId = context?.awsRequestId;
    const classified = classifyEvent(event);
    if (classified.kind === 'websocket') return onWebSocket(classified.event, requestId);
    if (classified.kind === 'http') return onHttp(classified.event, requestId);
    if (classified.kind === 'task') return onTask(classified.event, requestId, context);
    logger.warn('unrecognised event', { requestId });
    return { statusCode: 400 };
  };
}
