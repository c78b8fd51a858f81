import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { isConditionFailure } from './dynamo-errors';
import { CONNECTION_TTL_SECONDS } from '../contract/tables';
import type { OccupancyStore } from '../ports';
import { subscriptionPartition } from './dynamo-subscriptions';

const OCCUPANCY = 'occupancy';
/**
 * A scheduled count notice this far past its time never ran (its task could not start, or was given
 * up): the channel's notices go on rather than wait for it.
 */
const STALE_NOTICE_MS = 60_000;

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

  async claimNotice(
    projectId: string,
    channel: string,
    nowMs: number,
    windowMs: number,
  ): Promise<{ claim: 'now' | 'pending' } | { claim: 'later'; at: number }> {
    const key = { pk: subscriptionPartition(projectId, channel), sk: OCCUPANCY };
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key,
          UpdateExpression: 'SET noticeAt = :now',
          // Nothing scheduled (or a scheduled notice that never ran), and the last notice's window is over.
          ConditionExpression:
            'attribute_exists(pk) AND (attribute_not_exists(noticeDue) OR noticeDue < :stale) AND (attribute_not_exists(noticeAt) OR noticeAt <= :since)',
          ExpressionAttributeValues: { ':now': nowMs, ':since': nowMs - windowMs, ':stale': nowMs - STALE_NOTICE_MS },
        }),
      );
      return { claim: 'now' };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    try {
      const { Attributes } = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key,
          // The notice that follows the window: once, whoever asks first.
          UpdateExpression: 'SET noticeDue = if_not_exists(noticeAt, :now) + :window',
          ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(noticeDue) OR noticeDue < :stale)',
          ExpressionAttributeValues: { ':now': nowMs, ':window': windowMs, ':stale': nowMs - STALE_NOTICE_MS },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      return { claim: 'later', at: Number(Attributes?.noticeDue ?? nowMs + windowMs) };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return { claim: 'pending' };
    }
  }

  async settleNotice(projectId: string, channel: string, nowMs: number): Promise<number | undefined> {
    const { Attributes } = await this.client
      .send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: subscriptionPartition(projectId, channel), sk: OCCUPANCY },
          UpdateExpression: 'SET noticeAt = :now REMOVE noticeDue',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':now': nowMs },
          ReturnValues: 'ALL_NEW',
        }),
      )
      .catch((error: unknown) => {
        // The count expired with its last subscriptions: nothing to tell.
        if (isConditionFailure(error)) return { Attributes: undefined };
        throw error;
      });
    return Attributes ? Math.max(0, Number(Attributes.n ?? 0)) : undefined;
  }
}
