import pLimit from 'p-limit';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { RateLimit, UserStore } from '../ports';
import { isConditionFailure } from './dynamo-errors';
import { subscriptionPartition } from './dynamo-subscriptions';

/** Users live under a reserved name: `$` channels are the server's, so no channel's items share it. */
const USERS = '$users';

interface UserItem {
  /** Each open connection of the user, and when API Gateway will have closed it (epoch seconds). */
  connections?: Record<string, number>;
  tat?: number;
  gate?: number;
}

/**
 * Users (a token's `sub`) in the channels table, one item each: the connections they hold open,
 * against their project's cap, and the message budget all of them share (GCRA, as a connection's).
 */
export class DynamoUserStore implements UserStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  private key(projectId: string, userId: string) {
    return { pk: subscriptionPartition(projectId, USERS), sk: `user#${userId}` };
  }

  async admit(
    projectId: string,
    userId: string,
    connectionId: string,
    expiresAt: number,
    max: number,
    nowSeconds: number,
  ): Promise<boolean> {
    const Key = this.key(projectId, userId);
    // A few rounds at most: each either adds the connection, finds the user full of live ones, or
    // drops the expired ones (whose $disconnect never came) and tries again.
    for (let round = 0; round < 5; round++) {
      try {
        await this.client.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key,
            UpdateExpression: 'SET connections.#c = :expires, #ttl = :expires',
            ConditionExpression: 'attribute_exists(connections) AND (size(connections) < :max OR attribute_exists(connections.#c))',
            ExpressionAttributeNames: { '#c': connectionId, '#ttl': 'ttl' },
            ExpressionAttributeValues: { ':expires': expiresAt, ':max': max },
          }),
        );
        return true;
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
      const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key, ConsistentRead: true }));
      const connections = (Item as UserItem | undefined)?.connections;
      if (!connections) {
        if (await this.create(Key, connectionId, expiresAt, Item !== undefined)) return true;
        continue;
      }
      // Another connection of the user made the map meanwhile (its first admissions ran at once): try again.
      if (Object.keys(connections).length < max) continue;
      const expired = Object.entries(connections)
        .filter(([, expires]) => expires <= nowSeconds)
        .map(([id]) => id);
      if (expired.length === 0) return false;
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key,
          UpdateExpression: `REMOVE ${expired.map((_, i) => `connections.#e${i}`).join(', ')}`,
          ExpressionAttributeNames: Object.fromEntries(expired.map((id, i) => [`#e${i}`, id])),
        }),
      );
    }
    return false;
  }

  /** The user's first connection (or its first since it had a budget only); false if another writer made the map first. */
  private async create(Key: Record<string, string>, connectionId: string, expiresAt: number, exists: boolean): Promise<boolean> {
    try {
      if (exists) {
        await this.client.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key,
            UpdateExpression: 'SET connections = :one, #ttl = :expires',
            ConditionExpression: 'attribute_not_exists(connections)',
            ExpressionAttributeNames: { '#ttl': 'ttl' },
            ExpressionAttributeValues: { ':one': { [connectionId]: expiresAt }, ':expires': expiresAt },
          }),
        );
      } else {
        await this.client.send(
          new PutCommand({
            TableName: this.tableName,
            Item: { ...Key, connections: { [connectionId]: expiresAt }, ttl: expiresAt },
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        );
      }
      return true;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return false;
    }
  }

  async leave(projectId: string, userId: string, connectionId: string): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.key(projectId, userId),
          UpdateExpression: 'REMOVE connections.#c',
          ConditionExpression: 'attribute_exists(connections)',
          ExpressionAttributeNames: { '#c': connectionId },
        }),
      );
    } catch (error) {
      // Never admitted, or already gone: nothing to remove.
      if (!isConditionFailure(error)) throw error;
    }
  }

  async live(projectId: string, userIds: readonly string[], nowSeconds: number): Promise<string[]> {
    const limit = pLimit(10);
    const found = await Promise.all(
      userIds.map((userId) =>
        limit(async () => {
          const { Item } = await this.client.send(
            // Right after an admission or a departure: it must be seen.
            new GetCommand({ TableName: this.tableName, Key: this.key(projectId, userId), ConsistentRead: true }),
          );
          const connections = (Item as UserItem | undefined)?.connections ?? {};
          return Object.values(connections).some((expires) => expires > nowSeconds);
        }),
      ),
    );
    return userIds.filter((_, i) => found[i]);
  }

  async take(projectId: string, userId: string, nowMs: number, rate: RateLimit, expiresAt: number): Promise<boolean> {
    const interval = 1000 / rate.perSecond;
    const tolerance = (rate.burst - 1) * interval;
    const Key = this.key(projectId, userId);
    // As a connection's bucket: the first update for a full bucket (or none yet), the second within a burst.
    const attempts = [
      {
        UpdateExpression: 'SET tat = :next, gate = :gate, #ttl = if_not_exists(#ttl, :expires)',
        ConditionExpression: 'attribute_not_exists(tat) OR tat < :now',
        ExpressionAttributeNames: { '#ttl': 'ttl' },
        ExpressionAttributeValues: {
          ':now': nowMs,
          ':next': nowMs + interval,
          ':gate': nowMs + interval - tolerance,
          ':expires': expiresAt,
        },
      },
      {
        UpdateExpression: 'SET tat = tat + :interval, gate = gate + :interval',
        ConditionExpression: 'gate <= :now',
        ExpressionAttributeValues: { ':now': nowMs, ':interval': interval },
      },
    ];
    for (const attempt of attempts) {
      try {
        await this.client.send(new UpdateCommand({ TableName: this.tableName, Key, ...attempt }));
        return true;
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
    }
    return false;
  }
}
