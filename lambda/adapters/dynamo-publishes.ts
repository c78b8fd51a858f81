import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { PUBLISH_STATUS_SECONDS } from '../contract/tables';
import type { DeliveryCounts, PendingTasks, PublishRecord, PublishStore } from '../ports';
import { isConditionFailure } from './dynamo-errors';

const idempotencyId = (projectId: string, key: string) => `idem#${projectId}#${key}`;

/** A publish as stored: a background one keeps each task's counts apart, and ended tasks as 0 in `pending`. */
type StoredPublish = PublishRecord & {
  readonly ttl: number;
  readonly tasks?: Record<string, [number, number, number]>;
  readonly pending?: Record<string, number>;
};

/** Publishes and idempotency keys in DynamoDB, each item expiring by TTL. */
export class DynamoPublishStore implements PublishStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly now: () => number = Date.now,
  ) {}

  async put(record: PublishRecord): Promise<void> {
    const ttl = Math.floor(this.now() / 1000) + PUBLISH_STATUS_SECONDS;
    // A background publish's counts are its tasks', each kept apart (see taskEnded).
    const item = record.pending ? { ...record, tasks: {} } : record;
    await this.client.send(new PutCommand({ TableName: this.tableName, Item: { ...item, ttl } }));
  }

  async get(id: string): Promise<PublishRecord | undefined> {
    const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: { id }, ConsistentRead: true }));
    if (!Item || (Item.ttl as number) <= Math.floor(this.now() / 1000)) return undefined;
    const { ttl: _, tasks, pending, ...record } = Item as StoredPublish;
    if (!tasks || !pending) return record;
    // Done when nothing is pending, even if the write that says so did not land.
    const done = record.done || Object.values(pending).every((startsUntil) => startsUntil === 0);
    const counts = { sent: 0, failed: 0, stale: 0 };
    for (const [sent, failed, stale] of Object.values(tasks)) {
      counts.sent += sent;
      counts.failed += failed;
      counts.stale += stale;
    }
    return {
      ...record,
      ...counts,
      done,
      pending: Object.fromEntries(Object.entries(pending).filter(([, startsUntil]) => startsUntil > 0)),
    };
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

  async taskEnded(id: string, taskId: string, counts: DeliveryCounts, continuations: PendingTasks, again = false): Promise<void> {
    // Each task's counts under its own id and each continuation added only if absent: running this
    // again (a retry, a duplicate, an earlier task's late repeat) changes nothing.
    const names: Record<string, string> = { '#t': taskId };
    const values: Record<string, unknown> = { ':counts': [counts.sent, counts.failed, counts.stale], ':ended': 0 };
    const sets = ['tasks.#t = :counts', 'pending.#t = :ended'];
    Object.entries(continuations).forEach(([continuation, startsUntil], i) => {
      names[`#c${i}`] = continuation;
      values[`:c${i}`] = startsUntil;
      sets.push(`pending.#c${i} = if_not_exists(pending.#c${i}, :c${i})`);
    });
    const { Attributes } = await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { id },
        UpdateExpression: `SET ${sets.join(', ')}`,
        ConditionExpression: 'attribute_exists(id)',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ReturnValues: 'ALL_NEW',
      }),
    );
    if (again) {
      // Later start-by times for continuations not ended yet; one that has ended (0) keeps its 0.
      for (const [continuation, startsUntil] of Object.entries(continuations)) {
        await this.client
          .send(
            new UpdateCommand({
              TableName: this.tableName,
              Key: { id },
              UpdateExpression: 'SET pending.#c = :until',
              ConditionExpression: 'pending.#c > :ended',
              ExpressionAttributeNames: { '#c': continuation },
              ExpressionAttributeValues: { ':until': startsUntil, ':ended': 0 },
            }),
          )
          .catch((error: unknown) => {
            if (!isConditionFailure(error)) throw error;
          });
      }
    }
    const pending = Object.values((Attributes?.pending ?? {}) as Record<string, number>);
    if (!Attributes?.done && pending.every((startsUntil) => startsUntil === 0)) {
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
