import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { RetainedMessage, RetainedStore } from '../ports';
import { ACK_RETENTION_DAYS } from '../contract/tables';
import { subscriptionPartition } from './dynamo-subscriptions';

const MESSAGE = 'message';
const ackKey = (userId: string) => `ack#${userId}`;

/** The retained message's item as stored: the message is its JSON text. */
interface MessageItem {
  readonly id: string;
  readonly message: string;
  readonly expiresAt?: number;
}

/** An acknowledgement's item as stored. */
interface AckItem {
  readonly messageId: string;
}

/** Retained broadcasts and acknowledgements in DynamoDB, one partition per project and channel. */
export class DynamoRetainedStore implements RetainedStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly now: () => number = Date.now,
  ) {}

  async put(projectId: string, channel: string, retained: RetainedMessage): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk: subscriptionPartition(projectId, channel),
          sk: MESSAGE,
          id: retained.id,
          message: JSON.stringify(retained.message),
          retainedAt: new Date(this.now()).toISOString(),
          // DynamoDB's TTL deletes it some time after; reads check `expiresAt` themselves.
          ...(retained.expiresAt !== undefined && { expiresAt: retained.expiresAt, ttl: Math.ceil(retained.expiresAt / 1000) }),
        },
      }),
    );
  }

  async get(projectId: string, channel: string): Promise<RetainedMessage | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: subscriptionPartition(projectId, channel), sk: MESSAGE } }),
    );
    const item = Item as MessageItem | undefined;
    if (!item || (item.expiresAt !== undefined && item.expiresAt <= this.now())) return undefined;
    return {
      id: item.id,
      message: JSON.parse(item.message) as RetainedMessage['message'],
      ...(item.expiresAt !== undefined && { expiresAt: item.expiresAt }),
    };
  }

  async clear(projectId: string, channel: string): Promise<boolean> {
    const { Attributes } = await this.client.send(
      new DeleteCommand({
        TableName: this.tableName,
        Key: { pk: subscriptionPartition(projectId, channel), sk: MESSAGE },
        ReturnValues: 'ALL_OLD',
      }),
    );
    return Attributes !== undefined;
  }

  async ack(projectId: string, channel: string, userId: string, messageId: string): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk: subscriptionPartition(projectId, channel),
          sk: ackKey(userId),
          messageId,
          ttl: Math.floor(this.now() / 1000) + ACK_RETENTION_DAYS * 24 * 60 * 60,
        },
      }),
    );
  }

  async ackedBy(projectId: string, channel: string, userId: string): Promise<string | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: subscriptionPartition(projectId, channel), sk: ackKey(userId) } }),
    );
    return (Item as AckItem | undefined)?.messageId;
  }
}
