import { BatchWriteCommand, DeleteCommand, DynamoDBDocumentClient, PutCommand, QueryCommand, paginateQuery } from '@aws-sdk/lib-dynamodb';
import type { RecipientPage, SubscriberPage, SubscriberRange, SubscriptionKey, SubscriptionStore, WireProtocol } from '../ports';
import { SUBSCRIPTIONS_TABLE } from '../contract/tables';
import { backoffDelay, markTemporary, sleep } from '../contract/retry';
import { queryIndex } from './query-index';

const PK = SUBSCRIPTIONS_TABLE.partitionKey.name;
const SK = SUBSCRIPTIONS_TABLE.sortKey.name;
const TTL = SUBSCRIPTIONS_TABLE.ttlAttribute;
/** The project, copied into each item for the `byProject` index. */
const PROJECT = SUBSCRIPTIONS_TABLE.indexes[0].partitionKey.name;

/** BatchWriteItem takes at most 25 requests. */
const BATCH_SIZE = 25;
const MAX_BATCH_ATTEMPTS = 5;
const UNPROCESSED_BACKOFF = { baseMs: 50, maxMs: 1000 };

/** Marks a Pusher subscriber's item (`f: "p"`): read with the id, so a fan-out needs no other read. */
const FORMAT = 'f';
const PUSHER_FORMAT = 'p';

/** A page of items as recipients: the ids, and which speak Pusher's protocol (only if any do). */
function recipients(items: readonly Record<string, unknown>[]): RecipientPage {
  const ids = items.map((item) => item[SK] as string);
  let pusher: Set<string> | undefined;
  for (const item of items) if (item[FORMAT] === PUSHER_FORMAT) (pusher ??= new Set()).add(item[SK] as string);
  return pusher ? { ids, pusher } : { ids };
}

/** Partition key: the project is part of it, so tenants never share a partition or see each other's channels. */
export const subscriptionPartition = (projectId: string, channel: string): string => `${projectId}#${channel}`;

const keyOf = (key: SubscriptionKey) => ({ [PK]: subscriptionPartition(key.projectId, key.channel), [SK]: key.connectionId });

/** Subscriptions in DynamoDB, partitioned by project and channel and sorted by connection id. */
export class DynamoSubscriptionStore implements SubscriptionStore {
  private readonly now: () => number;
  private readonly pageSize?: number;

  /** `pageSize` caps items per Query page; by default a page is DynamoDB's 1 MB. */
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    options: { now?: () => number; pageSize?: number } = {},
  ) {
    this.now = options.now ?? Date.now;
    this.pageSize = options.pageSize;
  }

  async add(key: SubscriptionKey, expiresAt: number, protocol?: WireProtocol): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...keyOf(key), [PROJECT]: key.projectId, [TTL]: expiresAt, ...(protocol === 'pusher' && { [FORMAT]: PUSHER_FORMAT }) },
      }),
    );
  }

  async remove(key: SubscriptionKey): Promise<void> {
    await this.client.send(new DeleteCommand({ TableName: this.tableName, Key: keyOf(key) }));
  }

  async removeMany(keys: readonly SubscriptionKey[]): Promise<void> {
    for (let start = 0; start < keys.length; start += BATCH_SIZE) {
      let requests = keys.slice(start, start + BATCH_SIZE).map((key) => ({ DeleteRequest: { Key: keyOf(key) } }));
      // DynamoDB may leave some requests unprocessed under load; retry those with backoff.
      for (let attempt = 0; requests.length > 0; attempt++) {
        if (attempt === MAX_BATCH_ATTEMPTS) throw markTemporary(new Error(`${requests.length} subscription deletes left unprocessed`));
        if (attempt > 0) await sleep(backoffDelay(attempt, UNPROCESSED_BACKOFF));
        const { UnprocessedItems } = await this.client.send(new BatchWriteCommand({ RequestItems: { [this.tableName]: requests } }));
        requests = (UnprocessedItems?.[this.tableName] ?? []) as typeof requests;
      }
    }
  }

  async *subscribers(projectId: string, channel: string): AsyncIterable<RecipientPage> {
    const pages = paginateQuery(
      { client: this.client, pageSize: this.pageSize },
      {
        TableName: this.tableName,
        KeyConditionExpression: '#pk = :pk',
        // Read only the connection id, its protocol and expiry: fan-out needs nothing else.
        ProjectionExpression: '#sk, #ttl, #f',
        ExpressionAttributeNames: { '#pk': PK, '#sk': SK, '#ttl': TTL, '#f': FORMAT },
        ExpressionAttributeValues: { ':pk': subscriptionPartition(projectId, channel) },
      },
    );
    for await (const page of pages) {
      // TTL deletes lag by up to days: skip expired items rather than post to dead connections.
      const nowSeconds = Math.floor(this.now() / 1000);
      const live = (page.Items ?? []).filter((item) => item[TTL] === undefined || item[TTL] > nowSeconds);
      if (live.length > 0) yield recipients(live);
    }
  }

  async *slice(projectId: string, channel: string, range: SubscriberRange, pageSize = 1000): AsyncIterable<SubscriberPage> {
    let after = range.after;
    for (;;) {
      const { Items = [], LastEvaluatedKey } = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :from AND :to',
          ProjectionExpression: '#sk, #ttl, #f',
          ExpressionAttributeNames: { '#pk': PK, '#sk': SK, '#ttl': TTL, '#f': FORMAT },
          ExpressionAttributeValues: { ':pk': subscriptionPartition(projectId, channel), ':from': range.from, ':to': range.to },
          Limit: pageSize,
          ...(after !== undefined && { ExclusiveStartKey: { [PK]: subscriptionPartition(projectId, channel), [SK]: after } }),
        }),
      );
      const nowSeconds = Math.floor(this.now() / 1000);
      const live = recipients(Items.filter((item) => item[TTL] === undefined || item[TTL] > nowSeconds));
      after = LastEvaluatedKey?.[SK] as string | undefined;
      yield { ...live, after };
      if (after === undefined) return;
    }
  }

  async count(projectId: string, channel: string): Promise<number> {
    let total = 0;
    for await (const page of this.subscribers(projectId, channel)) total += page.ids.length;
    return total;
  }

  async channelsOf(projectId: string): Promise<Map<string, number>> {
    const nowSeconds = Math.floor(this.now() / 1000);
    const prefix = subscriptionPartition(projectId, '');
    const channels = new Map<string, number>();
    for (const item of await queryIndex(this.client, this.tableName, SUBSCRIPTIONS_TABLE.indexes[0], projectId)) {
      if (item[TTL] !== undefined && item[TTL] <= nowSeconds) continue;
      const channel = (item[PK] as string).slice(prefix.length);
      channels.set(channel, (channels.get(channel) ?? 0) + 1);
    }
    return channels;
  }
}
