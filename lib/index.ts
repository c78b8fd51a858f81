/**
 * The package's entry: the construct, the deployable stack around it, and the settings reader.
 *
 * @example
 * import { RealtimeBroadcast } from 'realtime-broadcast';
 * const broadcast = new RealtimeBroadcast(this, 'Rt', { namespaces: { chat: { history: { size: 100, ttlSeconds: 86400 } } } });
 * new CfnOutput(this, 'WebSocketUrl', { value: broadcast.webSocketUrl });
 */
export { RealtimeBroadcast, DEFAULT_STAGE_NAME, DEFAULT_THROTTLE, DEFAULT_CONNECT_THROTTLE } from './realtime-broadcast';
export type { RealtimeBroadcastProps, BroadcastTables } from './realtime-broadcast';
export { BroadcastStack } from './broadcast-stack';
export type { BroadcastStackProps } from './broadcast-stack';
export { readContextSettings, CONTEXT_KEYS } from './context-settings';
export type { ContextSettings } from './context-settings';
export type { AlarmThresholds } from './monitoring';
export { PusherEndpoint } from './pusher-endpoint';
export type { PusherEndpointOptions, PusherEndpointProps } from './pusher-endpoint';
export type { NamespaceConfig, HistoryConfig } from '../lambda/contract/namespaces';
