import { DeleteCommand, DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { AwayMark, AwayStore } from '../ports';
import { isConditionFailure } from './dynamo-errors';
import { subscriptionPartition } from './dynamo-subscriptions';

/** An away mark as stored: `{ pk: "<project>#<channel>", sk: "a#<userId>", epoch, seq, leftAt, clean, ttl }`. */
interface AwayItem {
  readonly epoch: string;
  readonly seq: number;
  readonly leftAt: number;
  readonly clean: boolean;
  readonly ttl: number;
}

/** Away marks in the channels table, in the channel's partition beside its stream. */
export class DynamoAwayStore implements AwayStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly now: () => number = Date.now,
  ) {}

  async mark(projectId: string, channel: string, userId: string, mark: AwayMark, ttlSeconds: number): Promise<void> {
    const nowSeconds = Math.floor(this.now() / 1000);
    const item: AwayItem = { epoch: mark.epoch, seq: mark.offset, leftAt: mark.leftAt, clean: mark.clean, ttl: nowSeconds + ttlSeconds };
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...this.key(projectId, channel, userId), ...item },
          // The earliest departure wins: a second connection of the user leaving later must not skip what the first missed.
          ConditionExpression: 'attribute_not_exists(pk) OR #ttl <= :now OR epoch <> :epoch OR leftAt > :leftAt',
          ExpressionAttributeNames: { '#ttl': 'ttl' },
          ExpressionAttributeValues: { ':now': nowSeconds, ':epoch': mark.epoch, ':leftAt': mark.leftAt },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  async take(projectId: string, channel: string, userId: string): Promise<AwayMark | undefined> {
    const { Attributes } = await this.client.send(
      new DeleteCommand({ TableName: this.tableName, Key: this.key(projectId, channel, userId), ReturnValues: 'ALL_OLD' }),
    );
    const item = Attributes as AwayItem | undefined;
    if (!item || item.ttl <= Math.floor(this.now() / 1000)) return undefined;
    return { epoch: item.epoch, offset: item.seq, leftAt: item.leftAt, clean: item.clean };
  }

  private key(projectId: string, channel: string, userId: string) {
    return { pk: subscriptionPartition(projectId, channel), sk: `a#${userId}` };
  }
}
