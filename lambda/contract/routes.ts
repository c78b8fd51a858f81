/**
 * The routes the product serves: one declaration read by the CDK construct (to create them on API
 * Gateway), by the handler (to dispatch) and by the local gateway (to select them), so the cloud
 * and local stacks cannot drift.
 */

/** API Gateway's route selection expression for the WebSocket API. */
export const ROUTE_SELECTION_EXPRESSION = '$request.body.action';

/** Custom WebSocket routes, selected by the frame's `action`. Each one gets its own CloudWatch metrics. */
export const WEBSOCKET_ACTIONS = ['subscribe', 'unsubscribe', 'send', 'ping', 'ack', 'get_retained', 'history', 'presence'] as const;
export type WebSocketAction = (typeof WEBSOCKET_ACTIONS)[number];

export const WEBSOCKET_ROUTE_KEYS = ['$connect', '$disconnect', '$default', ...WEBSOCKET_ACTIONS] as const;
export type WebSocketRouteKey = (typeof WEBSOCKET_ROUTE_KEYS)[number];

/**
 * Routes whose integration's returned body is sent back to the caller (a route response).
 * `$connect` and `$disconnect` cannot reply.
 */
export const ROUTES_WITH_RESPONSE: readonly WebSocketRouteKey[] = ['$default', ...WEBSOCKET_ACTIONS];

/** HTTP API routes, as API Gateway route keys (`METHOD /path`, `{name}` a path parameter, `{name+}` greedy). */
export const HTTP_ROUTE_KEYS = [
  'POST /broadcast',
  'POST /broadcast/clear',
  'GET /broadcast/{id}',
  'GET /health',
  'POST /api-keys',
  'GET /api-keys',
  'GET /api-keys/{projectId}',
  'DELETE /api-keys/{projectId}',
  'DELETE /api-keys/{projectId}/{keyPrefix}',
  'GET /usage',
  'GET /status',
  // Before the greedy route, as API Gateway prefers the more specific: `/channels/x/users`.
  'GET /channels/{channel}/users',
  'GET /channels/{channel+}',
  'GET /history',
  'GET /projects/{projectId}/settings',
  'PUT /projects/{projectId}/settings',
  'GET /projects/{projectId}/webhooks',
  'GET /projects/{projectId}/namespaces',
  'PUT /projects/{projectId}/namespaces/{namespace}',
  'DELETE /projects/{projectId}/namespaces/{namespace}',
  // Pusher's REST API (app id = project id), signed the Pusher way.
  'POST /apps/{appId}/events',
  'POST /apps/{appId}/batch_events',
  'GET /apps/{appId}/channels',
  'GET /apps/{appId}/channels/{channel}/users',
  'GET /apps/{appId}/channels/{channel}',
  'POST /apps/{appId}/users/{userId}/terminate_connections',
  // The debug console: its page and script (no key needed to load them), and its live view's token.
  'GET /console',
  'GET /console/app.js',
  'POST /console/token',
] as const;
export type HttpRouteKey = (typeof HTTP_ROUTE_KEYS)[number];

/**
 * The HTTP API's catch-all: API Gateway sends every request no route matches to it, so an unknown
 * path is answered by the handler (404 with a `code`) rather than by API Gateway's bare body.
 */
export const HTTP_DEFAULT_ROUTE = '$default';

const HTTP_ROUTE_PATTERNS = HTTP_ROUTE_KEYS.map((routeKey) => {
  const { method, path } = splitHttpRouteKey(routeKey);
  const names: string[] = [];
  const pattern = path.replace(/\{(\w+)(\+?)\}/g, (_, name: string, greedy: string) => {
    names.push(name);
    return greedy ? '(.+)' : '([^/]+)';
  });
  return { routeKey, method, regex: new RegExp(`^${pattern}$`), names };
});

/**
 * The route API Gateway's HTTP API would match for a request, with its path parameters
 * (URL-decoded); the catch-all `$default` when none does.
 */
export function matchHttpRoute(
  method: string,
  path: string,
): { routeKey: HttpRouteKey | typeof HTTP_DEFAULT_ROUTE; pathParameters?: Record<string, string> } {
  for (const route of HTTP_ROUTE_PATTERNS) {
    if (route.method !== method) continue;
    const match = route.regex.exec(path);
    if (!match) continue;
    if (route.names.length === 0) return { routeKey: route.routeKey };
    return {
      routeKey: route.routeKey,
      pathParameters: Object.fromEntries(route.names.map((name, i) => [name, safeDecode(match[i + 1])])),
    };
  }
  return { routeKey: HTTP_DEFAULT_ROUTE };
}

/** Splits `POST /broadcast` into its method and path. */
export function splitHttpRouteKey(routeKey: string): { method: string; path: string } {
  const [method, path] = routeKey.split(' ');
  return { method, path };
}

/** The route API Gateway would select for a WebSocket frame: `$default` unless the body is JSON with a known `action`. */
export function selectWebSocketRoute(body: string): WebSocketRouteKey {
  let action: unknown;
  try {
    action = (JSON.parse(body) as { action?: unknown } | null)?.action;
  } catch {
    return '$default';
  }
  return typeof action === 'string' && (WEBSOCKET_ACTIONS as readonly string[]).includes(action) ? (action as WebSocketAction) : '$default';
}

/** Decodes a path segment; a malformed escape is kept as it is rather than throwing. */
function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
