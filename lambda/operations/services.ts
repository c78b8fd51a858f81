/**
 * What operations work with: the domain services and stores, built once per execution environment
 * by `compose.ts`. Operations reach AWS only through these.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { ApiKeys } from '../auth/api-keys';
import type { Authorizer } from '../auth/principals';
import type { BigChannels } from '../domain/big-channels';
import type { Continuity } from '../domain/continuity';
import type { Departures } from '../domain/departures';
import type { ChannelHistory } from '../domain/history';
import type { Lifecycle } from '../domain/lifecycle';
import type { Members } from '../domain/members';
import type { Membership } from '../domain/membership';
import type { Namespaces } from '../domain/namespaces';
import type { Presence } from '../domain/presence';
import type { Projects } from '../domain/projects';
import type { Publisher } from '../domain/publish';
import type { Retention } from '../domain/retention';
import type { Revocation } from '../domain/revocation';
import type { Settings } from '../domain/settings';
import type { SubscriptionCounts } from '../domain/subscription-counts';
import type { Users } from '../domain/users';
import type { Watchlists } from '../domain/watchlists';
import type { Webhooks } from '../domain/webhooks';
import type { ConnectionStore, Delivery, PublishStore, TaskLedger } from '../ports';
import type { Telemetry } from '../telemetry';

export interface Services {
  readonly connections: ConnectionStore;
  readonly delivery: Delivery;
  readonly telemetry: Telemetry;
  readonly logger: Logger;
  readonly projects: Projects;
  readonly presence: Presence;
  readonly membership: Membership;
  readonly departures: Departures;
  readonly users: Users;
  readonly publisher: Publisher;
  readonly retention: Retention;
  readonly settings: Settings;
  readonly revocation: Revocation;
  readonly bigChannels: BigChannels;
  readonly publishes: PublishStore;
  readonly tasks: TaskLedger;
  readonly namespaces: Namespaces;
  readonly history: ChannelHistory;
  readonly continuity: Continuity;
  readonly webhooks: Webhooks;
  readonly subscriptionCounts: SubscriptionCounts;
  readonly watchlists: Watchlists;
  /** Webhook URLs may be http:// (the local stack); on AWS, https:// only. */
  readonly webhooksAllowHttp: boolean;
  readonly members: Members;
  readonly lifecycle: Lifecycle;
  readonly authorizer: Authorizer;
  readonly apiKeys: ApiKeys;
  /** Channels with more subscribers are published in the background (202). */
  readonly backgroundFanoutAbove: number;
  /** The WebSocket stage's URL (`wss://…/production`), which the console connects to. */
  readonly webSocketUrl: string;
  /** Every connection needs a client token, in every project. */
  readonly requireToken: boolean;
  readonly now: () => number;
}
