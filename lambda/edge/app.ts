/**
 * The shared handler's core: tells WebSocket events from HTTP API events, looks up the route,
 * and turns anything unexpected into a clean error. It never throws to API Gateway.
 */
import type { Context } from 'aws-lambda';
import { ApiKeys, Authorizer } from '../auth/api-keys';
import { classifyEvent, HttpEvent, HttpResult, WebSocketEvent, WebSocketResult } from './gateway-events';
import { errorResponse, HTTP_ROUTES } from './http';
import { Membership } from '../domain/membership';
import type { ApiKeyStore, AsyncInvoker, ConnectionStore, Delivery, KeySource, RetainedStore, SubscriptionStore, UsageStore } from '../ports';
import { Presence, WelcomeTask } from '../domain/presence';
import { Projects } from '../domain/projects';
import { ErrorCode } from '../protocol';
import { Publisher } from '../domain/publish';
import { Retention } from '../domain/retention';
import type { HttpRouteKey, WebSocketRouteKey } from '../contract/routes';
import { METRIC, Telemetry } from './telemetry';
import { errorReply, WEBSOCKET_ROUTES } from './websocket';

export interface AppDependencies {
  readonly connections: ConnectionStore;
  readonly subscriptions: SubscriptionStore;
  readonly apiKeys: ApiKeyStore;
  readonly usage: UsageStore;
  readonly retained: RetainedStore;
  readonly delivery: Delivery;
  /** Runs background tasks (the welcome message) after the current invocation. */
  readonly invoker: AsyncInvoker;
  /** The master access key. */
  readonly keys: KeySource;
  readonly fanoutConcurrency: number;
  /** Refuse WebSocket connections without a valid API key. */
  readonly requireApiKey: boolean;
  readonly telemetry?: Telemetry;
  readonly newId?: () => string;
  readonly now?: () => number;
}

export type Handler = (event: unknown, context?: Partial<Context>) => Promise<WebSocketResult | HttpResult>;

const INTERNAL = { code: ErrorCode.internalError, message: 'Internal error' } as const;

/** WebSocket routes whose successes are counted. */
const COUNTED_ROUTES: Partial<Record<WebSocketRouteKey, (typeof METRIC)[keyof typeof METRIC]>> = {
  $connect: METRIC.connects,
  $disconnect: METRIC.disconnects,
  subscribe: METRIC.subscribes,
};

const elapsed = (started: number) => Math.round(performance.now() - started);


export function createHandler(deps: AppDependencies): Handler {
  const telemetry = deps.telemetry ?? new Telemetry();
  const { logger } = telemetry;
  const membership = new Membership(deps);
  const publisher = new Publisher({
    ...deps,
    membership,
    concurrency: deps.fanoutConcurrency,
    observe: (fanout) => telemetry.fanout(fanout),
  });
  const authorizer = new Authorizer(deps.keys, deps.apiKeys, deps.now);
  const projects = new Projects({ ...deps, logger });
  const presence = new Presence({ publisher, delivery: deps.delivery, invoker: deps.invoker, logger });
  const retention = new Retention(deps.retained, publisher);
  // A typed client purged as gone has left, as much as one that said goodbye.
  membership.onDisconnected = async (connection) => {
    await Promise.all([presence.left(connection), projects.record(connection.projectId, { live: -1 })]);
  };
  const wsDeps = { ...deps, membership, publisher, authorizer, projects, presence, retention, telemetry };
  const httpDeps = { publisher, authorizer, apiKeys: new ApiKeys(deps.apiKeys, deps.now), projects, retention, logger, telemetry };

  async function onWebSocket(event: WebSocketEvent, requestId?: string): Promise<WebSocketResult> {
    const { routeKey, connectionId, eventType } = event.requestContext;
    const route = WEBSOCKET_ROUTES[routeKey as WebSocketRouteKey] ?? WEBSOCKET_ROUTES.$default;
    return telemetry.request({ connectionId }, async () => {
      const started = performance.now();
      let result: WebSocketResult;
      try {
        result = await route(event, wsDeps);
      } catch (error) {
        logger.error('websocket request failed', { requestId, routeKey, connectionId, error: error as Error });
        // $connect and $disconnect have no one to reply to; a 500 on $connect refuses the connection.
        result = eventType === 'MESSAGE' ? errorReply(INTERNAL) : { statusCode: 500 };
      }
      const succeeded = !telemetry.countFailure() && result.statusCode === 200;
      const metric = COUNTED_ROUTES[routeKey as WebSocketRouteKey];
      if (succeeded && metric) telemetry.count(metric);
      telemetry.requestDone('websocket request', { requestId, routeKey, statusCode: result.statusCode, durationMs: elapsed(started) });
      return result;
    });
  }

  async function onHttp(event: HttpEvent, requestId?: string): Promise<HttpResult> {
    const { routeKey } = event;
    const route = HTTP_ROUTES[routeKey as HttpRouteKey];
    return telemetry.request({}, async () => {
      const started = performance.now();
      let result: HttpResult;
      try {
        result = route
          ? await route(event, httpDeps)
          : errorResponse({ code: ErrorCode.notFound, message: `No route ${event.requestContext.http.method} ${event.rawPath}` });
      } catch (error) {
        logger.error('http request failed', { requestId, routeKey, error: error as Error });
        result = errorResponse(INTERNAL);
      }
      telemetry.countFailure();
      telemetry.requestDone('http request', { requestId, routeKey, statusCode: result.statusCode, durationMs: elapsed(started) });
      return result;
    });
  }

  async function onTask(task: WelcomeTask, requestId?: string): Promise<WebSocketResult> {
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
    if (classified.kind === 'task') return onTask(classified.event, requestId);
    logger.warn('unrecognised event', { requestId });
    return { statusCode: 400 };
  };
}
