/**
 * What a project can learn about itself: usage counted per invocation, and its status (connections,
 * channels, last activity) read by Query on indexes — never a Scan.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { isInternal } from './internal-channels';
import type { ApiKeyStore, ConnectionStore, SubscriptionStore, UsageCounts, UsageStore } from '../ports';
import { DEFAULT_PROJECT_ID } from '../contract/limits';
import { Result, ok, projectNotFound } from '../protocol';

export const USAGE_DAYS = 30;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface ProjectsDependencies {
  readonly connections: ConnectionStore;
  readonly subscriptions: SubscriptionStore;
  readonly usage: UsageStore;
  readonly apiKeys: ApiKeyStore;
  readonly logger: Logger;
  readonly now?: () => number;
}

export interface ProjectUsage {
  readonly projectId: string;
  readonly totalRequests: number;
  readonly totalDeliveries: number;
  readonly totalConnections: number;
  readonly dailyRequests: { date: string; count: number; deliveries: number }[];
}

export interface ProjectStatus {
  readonly projectId: string;
  readonly connections: { total: number; byType: Record<string, number> };
  readonly channels: { channel: string; subscribers: number }[];
  readonly lastActivityAt: string | null;
}

/** Connections without `?type=` are counted under this name. */
export const UNTYPED = 'none';

export class Projects {
  private readonly now: () => number;

  constructor(private readonly deps: ProjectsDependencies) {
    this.now = deps.now ?? Date.now;
  }

  /**
   * Adds one invocation's counts (one publish, however many deliveries) to the project's usage.
   * Counting never fails the request that is counted.
   */
  async record(projectId: string, counts: UsageCounts): Promise<{ live: number } | undefined> {
    try {
      return await this.deps.usage.record(projectId, counts, this.now());
    } catch (error) {
      this.deps.logger.warn('usage not recorded', { projectId, error: error as Error });
      return undefined;
    }
  }

  async usage(projectId: string): Promise<Result<ProjectUsage>> {
    const now = this.now();
    const report = await this.deps.usage.read(projectId, USAGE_DAYS, now);
    if (!report && !(await this.exists(projectId))) return projectNotFound(projectId);
    const byDate = new Map(report?.daily.map((day) => [day.date, day]));
    // Every one of the last 30 days, oldest first, zero where nothing happened.
    const dailyRequests = Array.from({ length: USAGE_DAYS }, (_, i) => {
      const date = new Date(now - (USAGE_DAYS - 1 - i) * DAY_MS).toISOString().slice(0, 10);
      const day = byDate.get(date);
      return { date, count: day?.requests ?? 0, deliveries: day?.deliveries ?? 0 };
    });
    return ok({
      projectId,
      totalRequests: report?.totalRequests ?? 0,
      totalDeliveries: report?.totalDeliveries ?? 0,
      totalConnections: report?.totalConnections ?? 0,
      dailyRequests,
    });
  }

  async status(projectId: string): Promise<Result<ProjectStatus>> {
    const [connections, channels, report] = await Promise.all([
      this.deps.connections.listByProject(projectId),
      this.deps.subscriptions.channelsOf(projectId),
      // Only the totals (last activity): no daily figures.
      this.deps.usage.read(projectId, 0, this.now()),
    ]);
    if (!report && connections.length === 0 && !(await this.exists(projectId))) return projectNotFound(projectId);
    const byType: Record<string, number> = {};
    for (const { clientType } of connections) byType[clientType ?? UNTYPED] = (byType[clientType ?? UNTYPED] ?? 0) + 1;
    return ok({
      projectId,
      connections: { total: connections.length, byType },
      channels: [...channels]
        .filter(([channel]) => !isInternal(channel))
        .map(([channel, subscribers]) => ({ channel, subscribers }))
        .sort((a, b) => b.subscribers - a.subscribers || a.channel.localeCompare(b.channel)),
      lastActivityAt: report?.lastActivityAt ?? null,
    });
  }

  async channel(projectId: string, channel: string): Promise<Result<{ projectId: string; channel: string; subscribers: number }>> {
    return ok({ projectId, channel, subscribers: await this.deps.subscriptions.count(projectId, channel) });
  }

  /** A project exists once it has a key or has been used; `default` always does. */
  private async exists(projectId: string): Promise<boolean> {
    return projectId === DEFAULT_PROJECT_ID || (await this.deps.apiKeys.ofProject(projectId)).length > 0;
  }
}
