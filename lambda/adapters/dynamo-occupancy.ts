import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { CONNECTION_TTL_SECONDS } from '../contract/tables';
import type { OccupancyStore } from '../ports';
import { subscriptionPartition } from './dynamo-subscriptions';

const OCCUPANCY = 'occupancy';

/**
 * Subscriber counts per channel in the channels table, for `channel_occupied`/`channel_vacated`:
 * an atomic counter, so only one subscriber can be the first and one the last. A count never
 * outlives the subscriptions it counts (their TTL), and never goes below zero.
 */
export class DynamoOccupancyStore implements OccupancyStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly now: () => number = Date.now,
  ) {}

  async change(projectId: string, channel: string, delta: number): Promise<number> {
    const key = { pk: subscriptionPartition(projectId, channel), sk: OCCUPANCY };
    const { Attributes } = await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: key,
        UpdateExpression: 'SET #ttl = :ttl ADD n :delta',
        ExpressionAttributeNames: { '#ttl': 'ttl' },
        ExpressionAttributeValues: { ':delta': delta, ':ttl': Math.floor(this.now() / 1000) + CONNECTION_TTL_SECONDS },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    const count = Number(Attributes?.n ?? 0);
    if (count >= 0) return count;
    // A departure counted twice (a purge after an expiry): back to zero rather than drifting.
    await this.client
      .send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key,
          UpdateExpression: 'SET n = :zero',
          ConditionExpression: 'n < :zero',
          ExpressionAttributeValues: { ':zero': 0 },
        }),
      )
      .catch(() => undefined);
    return 0;
  }
}
