/**
 * The shared handler's core: tells WebSocket events, HTTP API events and background tasks apart,
 * hands each to its codec (or the task runner), and is the one error boundary: anything
 * unexpected becomes a clean error, never a throw to API Gateway.
 */
import type { Context } from 'aws-lambda';
import { HANDLER_TIMEOUT_SECONDS } from '../contract/limits';
import { METRIC, MetricName } from '../contract/metrics';
import { isTemporary } from '../contract/retry';
import type { HttpRouteKey, WebSocketRouteKey } from '../contract/routes';
import { Operations, type Services } from '../operations';
import { ErrorCode, failure } from '../protocol';
import { classifyEvent, HttpEvent, HttpResult, WebSocketEvent, WebSocketResult } from './gateway-events';
import { HTTP_ROUTES } from './http';
import { pusherFailure } from './pusher-ws';
import { errorResponse as answer } from './http-kit';
import { echoRequestId, errorReply, WEBSOCKET_ROUTES } from './websocket';

export type { Services };

export type Handler = (event: unknown, context?: Partial<Context>) => Promise<WebSocketResult | HttpResult>;

/** A background task's time when the runtime does not say: the function's 29 s timeout. */
const DEFAULT_TASK_TIME_MS = HANDLER_TIMEOUT_SECONDS * 1000;

const INTERNAL = failure(ErrorCode.internalError);
const UNAVAILABLE = failure(ErrorCode.unavailable);

/** WebSocket routes whose successes are counted. */
const COUNTED_ROUTES: Partial<Record<WebSocketRouteKey, MetricName>> = {
  $connect: METRIC.connects,
  $disconnect: METRIC.disconnects,
  subscribe: METRIC.subscribes,
};

const elapsed = (started: number) => Math.round(performance.now() - started);

export function createHandler(services: Services): Handler {
  const ops = new Operations(services);
  const { telemetry } = services;
  const { logger } = telemetry;

  async function onWebSocket(event: WebSocketEvent, requestId?: string): Promise<WebSocketResult> {
    const { routeKey, connectionId, eventType } = event.requestContext;
    // Own properties only: a route key like `__proto__` is no route.
    const route = Object.hasOwn(WEBSOCKET_ROUTES, routeKey) ? WEBSOCKET_ROUTES[routeKey as WebSocketRouteKey] : WEBSOCKET_ROUTES.$default;
    return telemetry.request({ connectionId }, async () => {
      const started = performance.now();
      let result: WebSocketResult;
      try {
        result = await route(event, ops);
      } catch (error) {
        logger.error('websocket request failed', { requestId, routeKey, connectionId, error: error as Error });
        // $connect and $disconnect have no one to reply to; a 5xx on $connect refuses the connection.
        const temporary = isTemporary(error);
        const failed = temporary ? UNAVAILABLE : INTERNAL;
        result = eventType === 'MESSAGE' ? (pusherFailure(event, failed) ?? errorReply(failed)) : { statusCode: temporary ? 503 : 500 };
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
          ? await route(event, ops)
          : answer(failure(ErrorCode.notFound, `No route ${event.requestContext.http.method} ${event.rawPath}`));
      } catch (error) {
        logger.error('http request failed', { requestId, routeKey, error: error as Error });
        result = answer(isTemporary(error) ? UNAVAILABLE : INTERNAL);
      }
      telemetry.countFailure();
      telemetry.requestDone('http request', { requestId, routeKey, statusCode: result.statusCode, durationMs: elapsed(started) });
      return result;
    });
  }

  // The request id goes on each line rather than into the logger's shared keys: the local stack
  // runs invocations concurrently in one process.
  const dispatch: Handler = async (event, context) => {
    const requestId = context?.awsRequestId;
    const classified = classifyEvent(event);
    if (classified.kind === 'websocket') return onWebSocket(classified.event, requestId);
    if (classified.kind === 'http') return onHttp(classified.event, requestId);
    if (classified.kind === 'task') {
      await ops.runTask(classified.event, { requestId, remainingMs: context?.getRemainingTimeInMillis?.() ?? DEFAULT_TASK_TIME_MS });
      return { statusCode: 200 };
    }
    logger.warn('unrecognised event', { requestId });
    return { statusCode: 400 };
  };
  return async (event, context) => {
    try {
      return await dispatch(event, context);
    } finally {
      // What the invocation gave webhooks goes out before Lambda freezes it.
      await ops.settle();
    }
  };
}
