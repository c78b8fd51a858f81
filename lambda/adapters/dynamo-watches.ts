import { DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import pLimit from 'p-limit';
import type { WatchStore } from '../ports';
import { isConditionFailure } from './dynamo-errors';
import { subscriptionPartition } from './dynamo-subscriptions';

/** Pages one watchers read may take: expired watches DynamoDB has not deleted yet are filtered out, not counted. */
const MAX_PAGES = 4;

/** The partition of a watched user's watchers: `<project>#$watchers:<userId>`, one item `w#<watcher>` each. */
const partition = (projectId: string, watched: string) => subscriptionPartition(projectId, `$watchers:${watched}`);

/** Watchlists in the channels table, by watched user: who to tell when it comes and goes. */
export class DynamoWatchStore implements WatchStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async watch(projectId: string, watcher: string, watched: readonly string[], expiresAt: number): Promise<void> {
    const limit = pLimit(10);
    await Promise.all(
      watched.map((user) =>
        limit(() =>
          this.client.send(
            new PutCommand({ TableName: this.tableName, Item: { pk: partition(projectId, user), sk: `w#${watcher}`, ttl: expiresAt } }),
          ),
        ),
      ),
    );
  }

  async watchers(projectId: string, watched: string, limit: number, nowSeconds: number): Promise<string[]> {
    const found: string[] = [];
    let start: Record<string, unknown> | undefined;
    let pages = 0;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :w)',
          FilterExpression: '#ttl > :now',
          ExpressionAttributeNames: { '#ttl': 'ttl' },
          ExpressionAttributeValues: { ':pk': partition(projectId, watched), ':w': 'w#', ':now': nowSeconds },
          Limit: Math.max(limit, 100),
          ExclusiveStartKey: start,
          // Right after a sign-in's watch: it must be seen.
          ConsistentRead: true,
        }),
      );
      for (const item of page.Items ?? []) if (found.length < limit) found.push(String(item.sk).slice(2));
      start = page.LastEvaluatedKey;
    } while (start && found.length < limit && ++pages < MAX_PAGES);
    return found;
  }

  async told(projectId: string, watched: string, state: 'online' | 'offline', expiresAt: number): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: partition(projectId, watched), sk: 'told', state, ttl: expiresAt },
          // A change once: a second sign-in of a user already online tells nobody again.
          ConditionExpression: 'attribute_not_exists(pk) OR #state <> :state',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':state': state },
        }),
      );
      return true;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return false;
    }
  }
}
