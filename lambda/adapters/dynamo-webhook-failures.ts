import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { WebhookFailure, WebhookFailureStore } from '../ports';
import { subscriptionPartition } from './dynamo-subscriptions';

/** Kept a week: they are for finding out what went wrong, not a log. */
const KEEP_SECONDS = 7 * 24 * 60 * 60;

/**
 * A project's last failed webhook attempts in the channels table: one item, `{ pk: "<project>#$webhooks",
 * sk: "failures", list, ttl }`, newest first. Read, then written: two failures at once may keep one.
 */
export class DynamoWebhookFailureStore implements WebhookFailureStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly now: () => number = Date.now,
  ) {}

  async record(projectId: string, failure: WebhookFailure, keep: number): Promise<void> {
    const list = [failure, ...(await this.recent(projectId))].slice(0, keep);
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...this.key(projectId), list, ttl: Math.floor(this.now() / 1000) + KEEP_SECONDS },
      }),
    );
  }

  async recent(projectId: string): Promise<readonly WebhookFailure[]> {
    const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: this.key(projectId) }));
    return (Item?.list as WebhookFailure[] | undefined) ?? [];
  }

  private key(projectId: string) {
    return { pk: subscriptionPartition(projectId, '$webhooks'), sk: 'failures' };
  }
}
