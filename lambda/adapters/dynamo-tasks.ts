import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { PUBLISH_STATUS_SECONDS } from '../contract/tables';
import type { DeliveryCounts, TaskClaim, TaskLedger, TaskProgress } from '../ports';
import { isConditionFailure } from './dynamo-errors';

const itemId = (key: string) => `task#${key}`;

interface StoredTask {
  readonly owner?: string;
  readonly leaseUntil?: number;
  readonly attempts?: number;
  readonly after?: string;
  readonly rangeDone?: boolean;
  readonly retried?: boolean;
  readonly deferred?: string[];
  readonly sent?: number;
  readonly failed?: number;
  readonly stale?: number;
  readonly ending?: string;
  readonly settled?: boolean;
}

const progressOf = (item: StoredTask): TaskProgress => ({
  attempts: item.attempts ?? 0,
  after: item.after,
  rangeDone: item.rangeDone ?? false,
  retried: item.retried ?? false,
  deferred: item.deferred ?? [],
  sent: item.sent ?? 0,
  failed: item.failed ?? 0,
  stale: item.stale ?? 0,
  ending: item.ending,
  settled: item.settled ?? false,
});

/**
 * Background tasks' progress in the publishes table, one item per task expiring with the publishes:
 * a lease taken and renewed by conditional writes, so one invocation at a time advances a task.
 */
export class DynamoTaskLedger implements TaskLedger {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly now: () => number = Date.now,
  ) {}

  async claim(key: string, owner: string, leaseUntil: number, now: number): Promise<TaskClaim> {
    try {
      const { Attributes = {} } = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { id: itemId(key) },
          UpdateExpression: 'SET #owner = :owner, leaseUntil = :lease, #ttl = if_not_exists(#ttl, :ttl) ADD attempts :one',
          // Free: never claimed, or its holder's lease has run out, and not ended.
          ConditionExpression: 'attribute_not_exists(ending) AND (attribute_not_exists(leaseUntil) OR leaseUntil < :now)',
          ExpressionAttributeNames: { '#owner': 'owner', '#ttl': 'ttl' },
          ExpressionAttributeValues: { ':owner': owner, ':lease': leaseUntil, ':now': now, ':one': 1, ':ttl': this.expiry() },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { kind: 'claimed', progress: progressOf(Attributes as StoredTask) };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    const item = await this.read(key);
    if (item?.ending !== undefined) return { kind: 'ended', progress: progressOf(item) };
    // Ours already: the SDK retried a claim whose answer was lost after it was written.
    if (item?.owner === owner) return { kind: 'claimed', progress: progressOf(item) };
    return { kind: 'held', leaseUntil: item?.leaseUntil ?? 0 };
  }

  renew(key: string, owner: string, leaseUntil: number): Promise<boolean> {
    return this.ifHeld(key, owner, 'SET leaseUntil = :lease', { ':lease': leaseUntil });
  }

  advance(
    key: string,
    owner: string,
    leaseUntil: number,
    progress: Pick<TaskProgress, 'after' | 'rangeDone' | 'retried' | 'deferred' | 'sent' | 'failed' | 'stale'>,
  ): Promise<boolean> {
    const { after, rangeDone, retried, deferred, sent, failed, stale } = progress;
    return this.ifHeld(
      key,
      owner,
      `SET leaseUntil = :lease, rangeDone = :rangeDone, retried = :retried, #deferred = :deferred, sent = :sent, failed = :failed, stale = :stale${after === undefined ? '' : ', #after = :after'}`,
      {
        ':lease': leaseUntil,
        ':rangeDone': rangeDone,
        ':retried': retried,
        ':deferred': deferred,
        ':sent': sent,
        ':failed': failed,
        ':stale': stale,
        ...(after !== undefined && { ':after': after }),
      },
      after === undefined ? { '#deferred': 'deferred' } : { '#deferred': 'deferred', '#after': 'after' },
    );
  }

  async end(key: string, owner: string, ending: string, counts: DeliveryCounts): Promise<boolean> {
    if (await this.endIfHeld(key, owner, ending, counts)) return true;
    // The write may have landed and only its answer been lost (the SDK's retry then fails the
    // condition): ended by this owner with this ending is ended.
    const item = await this.read(key);
    return item?.owner === owner && item.ending === ending;
  }

  private endIfHeld(key: string, owner: string, ending: string, counts: DeliveryCounts): Promise<boolean> {
    return this.ifHeld(
      key,
      owner,
      'SET ending = :ending, sent = :sent, failed = :failed, stale = :stale, #deferred = :none',
      {
        ':ending': ending,
        ':sent': counts.sent,
        ':failed': counts.failed,
        ':stale': counts.stale,
        ':none': [],
      },
      { '#deferred': 'deferred' },
    );
  }

  async settle(key: string): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { id: itemId(key) },
        UpdateExpression: 'SET settled = :true',
        ConditionExpression: 'attribute_exists(ending)',
        ExpressionAttributeValues: { ':true': true },
      }),
    );
  }

  async release(key: string, owner: string): Promise<void> {
    // The owner goes too: a renewal already on its way cannot take the lease back.
    await this.ifHeld(key, owner, 'SET leaseUntil = :free REMOVE #owner', { ':free': 0 });
  }

  async inspect(key: string): Promise<{ leaseUntil: number; counts: DeliveryCounts } | undefined> {
    // Not the list of subscribers to try again: a status read stays a few hundred bytes.
    const { Item } = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { id: itemId(key) },
        ConsistentRead: true,
        ProjectionExpression: 'leaseUntil, sent, failed, stale',
      }),
    );
    const item = Item as StoredTask | undefined;
    if (!item) return undefined;
    return { leaseUntil: item.leaseUntil ?? 0, counts: { sent: item.sent ?? 0, failed: item.failed ?? 0, stale: item.stale ?? 0 } };
  }

  private async read(key: string): Promise<StoredTask | undefined> {
    const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: { id: itemId(key) }, ConsistentRead: true }));
    return Item as StoredTask | undefined;
  }

  /** An update made only while `owner` holds the task and it has not ended; false otherwise. */
  private async ifHeld(
    key: string,
    owner: string,
    update: string,
    values: Record<string, unknown>,
    names: Record<string, string> = {},
  ): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { id: itemId(key) },
          UpdateExpression: update,
          ConditionExpression: '#owner = :owner AND attribute_not_exists(ending)',
          ExpressionAttributeNames: { '#owner': 'owner', ...names },
          ExpressionAttributeValues: { ':owner': owner, ...values },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  private expiry(): number {
    return Math.floor(this.now() / 1000) + PUBLISH_STATUS_SECONDS;
  }
}
