import { DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { UsageCounts, UsageReport, UsageStore } from '../ports';
import { API_GATEWAY } from '../contract/limits';
import { LIVE_PERIOD_PREFIX, USAGE_RETENTION_DAYS } from '../contract/tables';

const TOTAL = 'total';
const DAY_PREFIX = 'day#';
const DAY_MS = 24 * 60 * 60 * 1000;
const dateOf = (epochMs: number) => new Date(epochMs).toISOString().slice(0, 10);
const HOUR_MS = 60 * 60 * 1000;
/** API Gateway closes every connection within this long of opening it. */
const MAX_CONNECTION_MS = API_GATEWAY.maxConnectionMs;
/** `live#2026112314`: the hour bucket of an epoch-ms instant. */
const liveBucket = (epochMs: number) => `${LIVE_PERIOD_PREFIX}${new Date(epochMs).toISOString().slice(0, 13).replace(/[-T]/g, '')}`;

/** A total or day item as stored: counters absent until first added to. */
interface CountsItem {
  readonly period: string;
  readonly requests?: number;
  readonly deliveries?: number;
  readonly connections?: number;
  readonly lastActivityAt?: string;
}

/** Usage counters in DynamoDB: a running total and one item per day per project. */
export class DynamoUsageStore implements UsageStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async record(projectId: string, counts: UsageCounts, at: number): Promise<{ live: number }> {
    const values = {
      ':requests': counts.requests ?? 0,
      ':deliveries': counts.deliveries ?? 0,
      ':connections': counts.connections ?? 0,
    };
    const add = 'ADD requests :requests, deliveries :deliveries, connections :connections';
    const dayChanges = Object.values(values).some((value) => value !== 0);
    await Promise.all([
      // Every record is activity, a disconnect included.
      this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { projectId, period: TOTAL },
          UpdateExpression: `${add} SET lastActivityAt = :at`,
          ExpressionAttributeValues: { ...values, ':at': new Date(at).toISOString() },
        }),
      ),
      dayChanges &&
        this.client.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: { projectId, period: `${DAY_PREFIX}${dateOf(at)}` },
            UpdateExpression: `${add} SET expiresAt = :expires`,
            ExpressionAttributeValues: {
              ...values,
              ':expires': Math.floor(at / 1000) + USAGE_RETENTION_DAYS * 24 * 60 * 60,
            },
          }),
        ),
      // The connection is counted in the bucket of the hour by which it must have closed; the
      // bucket expires an hour after that hour ends.
      counts.live &&
        this.client.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: { projectId, period: liveBucket((counts.liveSince ?? at) + MAX_CONNECTION_MS) },
            UpdateExpression: 'ADD live :live SET expiresAt = :expires',
            ExpressionAttributeValues: {
              ':live': counts.live,
              ':expires': Math.floor(((counts.liveSince ?? at) + MAX_CONNECTION_MS) / HOUR_MS + 2) * 3600,
            },
          }),
        ),
    ]);
    return { live: counts.live ? await this.liveCount(projectId, at) : 0 };
  }

  /** Connections open now: the sum of the buckets whose hour has not passed (at most three items). */
  private async liveCount(projectId: string, at: number): Promise<number> {
    const { Items = [] } = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'projectId = :p AND period BETWEEN :from AND :to',
        ExpressionAttributeValues: { ':p': projectId, ':from': liveBucket(at), ':to': `${LIVE_PERIOD_PREFIX}~` },
        ProjectionExpression: 'live',
        ConsistentRead: true,
      }),
    );
    return Math.max(
      0,
      Items.reduce((sum, item) => sum + Number(item.live ?? 0), 0),
    );
  }

  async read(projectId: string, days: number, now: number): Promise<UsageReport | undefined> {
    const [total, daily] = await Promise.all([
      this.client.send(new GetCommand({ TableName: this.tableName, Key: { projectId, period: TOTAL } })),
      days > 0 &&
        this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: 'projectId = :p AND period BETWEEN :from AND :to',
            ExpressionAttributeValues: {
              ':p': projectId,
              ':from': `${DAY_PREFIX}${dateOf(now - (days - 1) * DAY_MS)}`,
              ':to': `${DAY_PREFIX}${dateOf(now)}`,
            },
          }),
        ),
    ]);
    const totals = total.Item as CountsItem | undefined;
    if (!totals) return undefined;
    return {
      totalRequests: totals.requests ?? 0,
      totalDeliveries: totals.deliveries ?? 0,
      totalConnections: totals.connections ?? 0,
      lastActivityAt: totals.lastActivityAt,
      daily: (((daily && daily.Items) || []) as CountsItem[]).map((item) => ({
        date: item.period.slice(DAY_PREFIX.length),
        requests: item.requests ?? 0,
        deliveries: item.deliveries ?? 0,
      })),
    };
  }
}
