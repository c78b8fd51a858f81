import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { AwayMark, AwayStore } from '../ports';
import { isConditionFailure } from './dynamo-errors';
import { subscriptionPartition } from './dynamo-subscriptions';

/**
 * An away mark as stored: `{ pk: "<project>#<channel>", sk: "a#<userId>", epoch, seq, leftAt, clean, ttl }`;
 * once taken, `{ rejoinedAt, ttl }` for as long as API Gateway may take to report a departure.
 */
interface AwayItem {
  readonly epoch?: string;
  readonly seq?: number;
  readonly leftAt?: number;
  readonly clean?: boolean;
  readonly rejoinedAt?: number;
  readonly rejoinedBy?: string;
  readonly ttl: number;
}

/** How long a return is remembered: longer than API Gateway's idle timeout (10 minutes), after which it reports any departure. */
const REJOINED_SECONDS = 15 * 60;

/** Away marks in the channels table, in the channel's partition beside its stream. */
export class DynamoAwayStore implements AwayStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly now: () => number = Date.now,
  ) {}

  async mark(
    projectId: string,
    channel: string,
    userId: string,
    mark: AwayMark,
    departed: { readonly connectionId: string; readonly connectedAt: number },
    ttlSeconds: number,
  ): Promise<void> {
    const nowSeconds = Math.floor(this.now() / 1000);
    // A return that counts: by another connection, since this one opened and within the time a late report takes.
    const since = mark.clean ? Number.MAX_SAFE_INTEGER : Math.max(departed.connectedAt, mark.leftAt - REJOINED_SECONDS * 1000);
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...this.key(projectId, channel, userId), ...this.itemOf(mark, nowSeconds + ttlSeconds) },
          // Not once the user came back after this connection opened (a departure API Gateway reported
          // late); else the earliest departure wins: one leaving later must not skip what the first missed.
          ConditionExpression:
            'attribute_not_exists(pk) OR #ttl <= :now OR ((attribute_not_exists(rejoinedAt) OR rejoinedBy = :self OR rejoinedAt < :since) AND ' +
            '(attribute_not_exists(epoch) OR epoch <> :epoch OR leftAt > :leftAt))',
          ExpressionAttributeNames: { '#ttl': 'ttl' },
          ExpressionAttributeValues: {
            ':now': nowSeconds,
            ':epoch': mark.epoch,
            ':leftAt': mark.leftAt,
            ':self': departed.connectionId,
            ':since': since,
          },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  async putBack(projectId: string, channel: string, userId: string, mark: AwayMark, ttlSeconds: number): Promise<void> {
    const item = this.itemOf(mark, Math.floor(this.now() / 1000) + ttlSeconds);
    await this.client.send(new PutCommand({ TableName: this.tableName, Item: { ...this.key(projectId, channel, userId), ...item } }));
  }

  private itemOf(mark: AwayMark, ttl: number): AwayItem {
    return { epoch: mark.epoch, seq: mark.offset, leftAt: mark.leftAt, clean: mark.clean, ttl };
  }

  async take(projectId: string, channel: string, userId: string, connectionId: string): Promise<AwayMark | undefined> {
    const nowSeconds = Math.floor(this.now() / 1000);
    const { Attributes } = await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          ...this.key(projectId, channel, userId),
          rejoinedAt: this.now(),
          rejoinedBy: connectionId,
          ttl: nowSeconds + REJOINED_SECONDS,
        },
        ReturnValues: 'ALL_OLD',
      }),
    );
    const item = Attributes as AwayItem | undefined;
    if (!item || item.ttl <= nowSeconds || item.epoch === undefined) return undefined;
    return { epoch: item.epoch, offset: item.seq!, leftAt: item.leftAt!, clean: item.clean! };
  }

  private key(projectId: string, channel: string, userId: string) {
    return { pk: subscriptionPartition(projectId, channel), sk: `a#${userId}` };
  }
}
