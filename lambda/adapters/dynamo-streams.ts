import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { StoredMessage, StreamPosition, StreamStore } from '../ports';
import { updateOrCreate } from './dynamo-errors';
import { subscriptionPartition } from './dynamo-subscriptions';

const HEAD = 'head';
/** Offsets in sort keys, zero-padded so they sort as numbers. */
const OFFSET_DIGITS = 12;
export const messageKey = (offset: number): string => `m#${String(offset).padStart(OFFSET_DIGITS, '0')}`;
const LAST_MESSAGE_KEY = `m#${'9'.repeat(OFFSET_DIGITS)}`;
/** A stream's head as stored: its last offset, its epoch, when it expires (epoch seconds). */
interface HeadItem {
  readonly seq: number;
  readonly epoch: string;
  readonly ttl: number;
}

/** Read first when a byte budget bounds the read: small, since a message may be 128 KB. */
const FIRST_PAGE = 4;

/**
 * Channel streams in the channels table: a head item (`seq`, `epoch`) per channel and one item per
 * stored message. A head past its TTL counts as gone even before DynamoDB deletes it (which can
 * take days): the next write starts a new epoch.
 */
export class DynamoStreamStore implements StreamStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly now: () => number = Date.now,
  ) {}

  next(projectId: string, channel: string, freshEpoch: string, ttlSeconds: number): Promise<StreamPosition> {
    return this.writeHead(projectId, channel, freshEpoch, ttlSeconds, 1);
  }

  async current(projectId: string, channel: string, freshEpoch: string, ttlSeconds: number): Promise<StreamPosition> {
    return (await this.head(projectId, channel)) ?? this.writeHead(projectId, channel, freshEpoch, ttlSeconds, 0);
  }

  async head(projectId: string, channel: string): Promise<StreamPosition | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: subscriptionPartition(projectId, channel), sk: HEAD }, ConsistentRead: true }),
    );
    const head = Item as HeadItem | undefined;
    if (!head || head.ttl <= this.nowSeconds()) return undefined;
    return { offset: head.seq, epoch: head.epoch };
  }

  async put(projectId: string, channel: string, message: StoredMessage, ttlSeconds: number): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk: subscriptionPartition(projectId, channel),
          sk: messageKey(message.offset),
          body: message.body,
          ttl: this.nowSeconds() + ttlSeconds,
        },
      }),
    );
  }

  async after(
    projectId: string,
    channel: string,
    offset: number,
    limit: number,
    maxBytes = Infinity,
  ): Promise<{ messages: StoredMessage[]; spent: boolean }> {
    const messages: StoredMessage[] = [];
    const nowSeconds = this.nowSeconds();
    let start: Record<string, unknown> | undefined;
    let bytes = 0;
    let read = 0;
    do {
      // Messages may be large (100 KB) and a reply small: a first short page, then pages sized by
      // what was read so far, so the read stops about where the bytes run out.
      const room = limit - messages.length;
      const pageLimit =
        maxBytes === Infinity
          ? room
          : read === 0
            ? Math.min(room, FIRST_PAGE)
            : Math.min(room, Math.max(1, Math.ceil((maxBytes - bytes) / (bytes / read))));
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
          ExpressionAttributeValues: {
            ':pk': subscriptionPartition(projectId, channel),
            ':from': messageKey(offset + 1),
            ':to': LAST_MESSAGE_KEY,
          },
          // A subscriber recovering right after a publish must see it.
          ConsistentRead: true,
          Limit: pageLimit,
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? []) {
        read++;
        if (item.ttl <= nowSeconds) continue;
        const size = Buffer.byteLength(item.body as string) + 1;
        if (messages.length > 0 && bytes + size > maxBytes) return { messages, spent: true };
        bytes += size;
        messages.push({ offset: Number(String(item.sk).slice(2)), body: item.body as string });
      }
      start = page.LastEvaluatedKey;
    } while (start && messages.length < limit && bytes < maxBytes);
    return { messages, spent: bytes >= maxBytes && messages.length < limit };
  }

  /** Adds `step` to the head's offset, starting a new head (and epoch) where there is none or it expired. */
  private async writeHead(
    projectId: string,
    channel: string,
    freshEpoch: string,
    ttlSeconds: number,
    step: number,
  ): Promise<StreamPosition> {
    const key = { pk: subscriptionPartition(projectId, channel), sk: HEAD };
    const nowSeconds = this.nowSeconds();
    return updateOrCreate(
      async () => {
        const { Attributes } = await this.client.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: key,
            UpdateExpression: 'SET epoch = if_not_exists(epoch, :fresh), #ttl = :ttl ADD seq :step',
            ConditionExpression: 'attribute_not_exists(pk) OR #ttl > :now',
            ExpressionAttributeNames: { '#ttl': 'ttl' },
            ExpressionAttributeValues: { ':fresh': freshEpoch, ':ttl': nowSeconds + ttlSeconds, ':step': step, ':now': nowSeconds },
            ReturnValues: 'ALL_NEW',
          }),
        );
        const head = Attributes as HeadItem;
        return { offset: head.seq, epoch: head.epoch };
      },
      // The head expired: a new one, in a new epoch, unless another writer made it first.
      async () => {
        await this.client.send(
          new PutCommand({
            TableName: this.tableName,
            Item: { ...key, seq: step, epoch: freshEpoch, ttl: nowSeconds + ttlSeconds },
            ConditionExpression: 'attribute_not_exists(pk) OR #ttl <= :now',
            ExpressionAttributeNames: { '#ttl': 'ttl' },
            ExpressionAttributeValues: { ':now': nowSeconds },
          }),
        );
        return { offset: step, epoch: freshEpoch };
      },
    );
  }

  private nowSeconds(): number {
    return Math.floor(this.now() / 1000);
  }
}
