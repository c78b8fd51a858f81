import { DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { UsageCounts, UsageReport, UsageStore } from '../ports';
import { USAGE_RETENTION_DAYS } from '../contract/tables';

const TOTAL = 'total';
const DAY_PREFIX = 'day#';
const DAY_MS = 24 * 60 * 60 * 1000;
const dateOf = (epochMs: number) => new Date(epochMs).toISOString().slice(0, 10);

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
    // A disconnect changes only the open-connection count, which lives on the total: no day write.
    const dayChanges = Object.values(values).some((value) => value !== 0);
    const [total] = await Promise.all([
      this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { projectId, period: TOTAL },
          // `live` is a running count of open connections; a missed $disconnect that is never
          // purged leaves it high, so it is informational and /status counts connections exactly.
          UpdateExpression: `${add}, live :live SET lastActivityAt = :at`,
          ExpressionAttributeValues: { ...values, ':live': counts.live ?? 0, ':at': new Date(at).toISOString() },
          ReturnValues: 'UPDATED_NEW',
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
    ]);
    return { live: Math.max(0, Number(total.Attributes?.live ?? 0)) };
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
    if (!total.Item) return undefined;
    return {
      totalRequests: total.Item.requests ?? 0,
      totalDeliveries: total.Item.deliveries ?? 0,
      totalConnections: total.Item.connections ?? 0,
      lastActivityAt: total.Item.lastActivityAt,
      daily: ((daily && daily.Items) || []).map((item) => ({
        date: (item.period as string).slice(DAY_PREFIX.length),
        requests: item.requests ?? 0,
        deliveries: item.deliveries ?? 0,
      })),
    };
  }
}
