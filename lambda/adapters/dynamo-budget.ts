import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DeliveryBudgetStore } from '../ports';
import { isConditionFailure } from './dynamo-errors';

/** One item for the whole deployment, under a name no project or channel can take (`$` is the server's). */
const KEY = { pk: '$deployment#$budget', sk: 'delivery' };

/**
 * The deployment's delivery budget in the channels table: a GCRA bucket (`tat`, the time it is next
 * empty of debt) that every big publish's shards draw from, a chunk of posts at a time — one write
 * per chunk, never one per post.
 */
export class DynamoDeliveryBudgetStore implements DeliveryBudgetStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async take(posts: number, perSecond: number, burst: number, nowMs: number): Promise<number> {
    const interval = 1000 / perSecond;
    const cost = posts * interval;
    // The bucket holds `burst` posts: `posts` more fit while tat + cost ≤ now + burst × interval.
    const attempts = [
      {
        UpdateExpression: 'SET tat = :filled, #ttl = :ttl',
        ConditionExpression: 'attribute_not_exists(tat) OR tat < :now',
        ExpressionAttributeValues: { ':now': nowMs, ':filled': nowMs + cost, ':ttl': Math.floor(nowMs / 1000) + 86_400 },
      },
      {
        UpdateExpression: 'SET tat = tat + :cost, #ttl = :ttl',
        ConditionExpression: 'tat <= :limit',
        ExpressionAttributeValues: { ':cost': cost, ':limit': nowMs + burst * interval - cost, ':ttl': Math.floor(nowMs / 1000) + 86_400 },
      },
    ];
    for (const attempt of attempts) {
      try {
        await this.client.send(
          new UpdateCommand({ TableName: this.tableName, Key: KEY, ExpressionAttributeNames: { '#ttl': 'ttl' }, ...attempt }),
        );
        return 0;
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
    }
    const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: KEY, ConsistentRead: true }));
    const tat = Number((Item as { tat?: number } | undefined)?.tat ?? nowMs);
    // Until the bucket has room for these posts again.
    return Math.max(1, Math.ceil(tat + cost - (nowMs + burst * interval)));
  }
}
