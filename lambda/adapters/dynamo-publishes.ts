import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { PUBLISH_STATUS_SECONDS } from '../contract/tables';
import type { PublishRecord, PublishStore } from '../ports';
import { isConditionFailure } from './dynamo-errors';

const idempotencyId = (projectId: string, key: string) => `idem#${projectId}#${key}`;

/** Publishes and idempotency keys in DynamoDB, each item expiring by TTL. */
export class DynamoPublishStore implements PublishStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly now: () => number = Date.now,
  ) {}

  async put(record: PublishRecord): Promise<void> {
    const ttl = Math.floor(this.now() / 1000) + PUBLISH_STATUS_SECONDS;
    await this.client.send(new PutCommand({ TableName: this.tableName, Item: { ...record, ttl } }));
  }

  async get(id: string): Promise<PublishRecord | undefined> {
    const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: { id }, ConsistentRead: true }));
    if (!Item || Item.ttl <= Math.floor(this.now() / 1000)) return undefined;
    const { ttl: _, ...record } = Item;
    return record as PublishRecord;
  }

  async claim(projectId: string, key: string, publishId: string, expiresAt: number): Promise<string | undefined> {
    const id = idempotencyId(projectId, key);
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { id, publishId, ttl: expiresAt },
          // An expired claim DynamoDB has not deleted yet is free to take.
          ConditionExpression: 'attribute_not_exists(id) OR #ttl <= :now',
          ExpressionAttributeNames: { '#ttl': 'ttl' },
          ExpressionAttributeValues: { ':now': Math.floor(this.now() / 1000) },
        }),
      );
      return undefined;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: { id }, ConsistentRead: true }));
      return Item?.publishId as string | undefined;
    }
  }

  async release(projectId: string, key: string, publishId: string): Promise<void> {
    try {
      // Expired rather than deleted: a claim past its time is free to take, and the handler needs no delete grant.
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { id: idempotencyId(projectId, key) },
          UpdateExpression: 'SET #ttl = :gone',
          ConditionExpression: 'publishId = :publish',
          ExpressionAttributeNames: { '#ttl': 'ttl' },
          ExpressionAttributeValues: { ':gone': 0, ':publish': publishId },
        }),
      );
    } catch (error) {
      // Another publish holds it now: not ours to release.
      if (!isConditionFailure(error)) throw error;
    }
  }

  async addCounts(id: string, counts: { sent: number; failed: number; stale: number }, shardsDelta: number): Promise<void> {
    const { Attributes } = await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { id },
        UpdateExpression: 'ADD sent :sent, failed :failed, stale :stale, shardsPending :delta',
        ConditionExpression: 'attribute_exists(id)',
        ExpressionAttributeValues: { ':sent': counts.sent, ':failed': counts.failed, ':stale': counts.stale, ':delta': shardsDelta },
        ReturnValues: 'ALL_NEW',
      }),
    );
    if (shardsDelta < 0 && Attributes?.shardsPending === 0) {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { id },
          UpdateExpression: 'SET done = :true',
          ExpressionAttributeValues: { ':true': true },
        }),
      );
    }
  }
}
