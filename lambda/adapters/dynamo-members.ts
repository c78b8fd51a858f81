import { DeleteCommand, DynamoDBDocumentClient, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { CONNECTION_TTL_SECONDS } from '../contract/tables';
import type { MemberRecord, MemberStore } from '../ports';
import { isConditionFailure, updateOrCreate } from './dynamo-errors';
import { subscriptionPartition } from './dynamo-subscriptions';

const MEMBER_PREFIX = 'u#';

/** A member item as stored: `{ pk, sk: "u#<userId>", userId, info?, conns, v, ttl }`. */
interface MemberItem {
  readonly userId: string;
  readonly info?: Record<string, unknown>;
  readonly conns?: Record<string, number>;
  readonly v?: number;
  readonly ttl: number;
}

/**
 * Presence members in the channels table: one item per user and channel, its connections in a
 * map of connection id → last heard from. Every write goes to that one item, so two connections of
 * a user joining or leaving at once cannot both be first or both be last. An item lives no longer
 * than the connections in it could (API Gateway's 2 hours, plus a margin), refreshed as they ping.
 */
export class DynamoMemberStore implements MemberStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly now: () => number = Date.now,
  ) {}

  async join(
    projectId: string,
    channel: string,
    member: { userId: string; info?: Record<string, unknown> },
    connectionId: string,
    now: number,
  ): Promise<MemberRecord | undefined> {
    const key = this.key(projectId, channel, member.userId);
    return updateOrCreate<MemberRecord | undefined>(
      async () => {
        const { Attributes } = await this.client.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: key,
            UpdateExpression: `SET conns.#c = :now, #ttl = :ttl${member.info ? ', info = :info' : ''} ADD v :one`,
            ConditionExpression: 'attribute_exists(conns)',
            ExpressionAttributeNames: { '#c': connectionId, '#ttl': 'ttl' },
            ExpressionAttributeValues: { ':now': now, ':ttl': this.expiry(), ':one': 1, ...(member.info && { ':info': member.info }) },
            ReturnValues: 'ALL_OLD',
          }),
        );
        return record(Attributes as MemberItem);
      },
      // The user's first connection here (or another made the item first, and the update runs again).
      async () => {
        await this.client.send(
          new PutCommand({
            TableName: this.tableName,
            Item: {
              ...key,
              userId: member.userId,
              ...(member.info && { info: member.info }),
              conns: { [connectionId]: now },
              v: 1,
              ttl: this.expiry(),
            },
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        );
        return undefined;
      },
    );
  }

  async leave(projectId: string, channel: string, userId: string, connectionId: string): Promise<MemberRecord | undefined> {
    try {
      const { Attributes } = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.key(projectId, channel, userId),
          UpdateExpression: 'REMOVE conns.#c ADD v :one',
          ConditionExpression: 'attribute_exists(conns.#c)',
          ExpressionAttributeNames: { '#c': connectionId },
          ExpressionAttributeValues: { ':one': 1 },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return record(Attributes as MemberItem);
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  async touch(projectId: string, channel: string, userId: string, connectionId: string, now: number): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.key(projectId, channel, userId),
          // The version moves too: a removal decided on the silence just ended must not happen.
          UpdateExpression: 'SET conns.#c = :now, #ttl = :ttl ADD v :one',
          ConditionExpression: 'attribute_exists(conns.#c)',
          ExpressionAttributeNames: { '#c': connectionId, '#ttl': 'ttl' },
          ExpressionAttributeValues: { ':now': now, ':ttl': this.expiry(), ':one': 1 },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async list(projectId: string, channel: string): Promise<MemberRecord[]> {
    const members: MemberRecord[] = [];
    const nowSeconds = Math.floor(this.now() / 1000);
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :member)',
          ExpressionAttributeValues: { ':pk': subscriptionPartition(projectId, channel), ':member': MEMBER_PREFIX },
          ExclusiveStartKey: start,
        }),
      );
      for (const item of (page.Items ?? []) as MemberItem[]) if (item.ttl > nowSeconds) members.push(record(item));
      start = page.LastEvaluatedKey;
    } while (start);
    return members;
  }

  async remove(projectId: string, channel: string, userId: string, version: number): Promise<boolean> {
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: this.key(projectId, channel, userId),
          ConditionExpression: 'v = :v',
          ExpressionAttributeValues: { ':v': version },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  private key(projectId: string, channel: string, userId: string) {
    return { pk: subscriptionPartition(projectId, channel), sk: `${MEMBER_PREFIX}${userId}` };
  }

  private expiry(): number {
    return Math.floor(this.now() / 1000) + CONNECTION_TTL_SECONDS;
  }
}

function record(item: MemberItem): MemberRecord {
  return { userId: item.userId, ...(item.info && { info: item.info }), connections: item.conns ?? {}, version: item.v ?? 0 };
}
