import {
  BatchGetCommand,
  BatchGetCommandOutput,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { MAX_CHANNELS_PER_CONNECTION, OPEN_PROJECT_SETTINGS } from '../contract/limits';
import { isConditionFailure } from './dynamo-errors';
import type { AddChannelOutcome, ConnectionRecord, ConnectionStore, NewConnection, RateLimit, StreamPosition, TakeOutcome } from '../ports';
import { CONNECTIONS_TABLE, connectionExpiry } from '../contract/tables';
import { queryIndex } from './query-index';

interface ConnectionItem extends Omit<NewConnection, 'rateLimit'> {
  channels?: Set<string>;
  authKeys?: Set<string>;
  signedIn?: string;
  /** Pusher connections: `{ <channel>: { offset, epoch } }`, written `{}` at connect so a channel can be set in it. */
  joined?: Record<string, StreamPosition>;
  greeted?: boolean;
  expiresAt: number;
  rateLimit?: RateLimit;
  /** The rate limit as GCRA needs it: ms between messages, and that less the burst's tolerance. */
  rlInterval?: number;
  rlGateOffset?: number;
  /** GCRA state: when the bucket is next full (theoretical arrival time), and that less the tolerance. */
  tat?: number;
  gate?: number;
}

/** Items written before rate limits carry none: they get the open default. */
const DEFAULT_RATE = gcra(OPEN_PROJECT_SETTINGS.rateLimit);

/**
 * A token bucket as GCRA: one message every `interval` ms, `tolerance` ms of them at once. A
 * message at `now` is allowed while `tat - tolerance <= now`; it moves `tat` to `max(tat, now) + interval`.
 */
function gcra({ perSecond, burst }: RateLimit) {
  const interval = 1000 / perSecond;
  return { interval, gateOffset: interval - (burst - 1) * interval };
}

const toRecord = (item: ConnectionItem): ConnectionRecord => ({
  connectionId: item.connectionId,
  projectId: item.projectId,
  connectedAt: item.connectedAt,
  clientType: item.clientType,
  userId: item.userId,
  sourceIp: item.sourceIp,
  userAgent: item.userAgent,
  keyPrefix: item.keyPrefix,
  channelGrants: item.channelGrants,
  publishGrants: item.publishGrants,
  monitor: item.monitor,
  info: item.info,
  rateLimit: item.rateLimit,
  userRateLimit: item.userRateLimit,
  tokenExpiresAt: item.tokenExpiresAt,
  observer: item.observer,
  ...(item.protocol === 'pusher' && { protocol: 'pusher' as const }),
  channels: [...(item.channels ?? [])],
  ...(item.authKeys && { authKeys: [...item.authKeys] }),
  ...(item.signedIn !== undefined && { signedIn: item.signedIn }),
  ...(item.joined && Object.keys(item.joined).length > 0 && { joinedAt: item.joined }),
});

/** Connections in DynamoDB, one item per connection, keyed by connection id. */
export class DynamoConnectionStore implements ConnectionStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async put(connection: NewConnection): Promise<void> {
    const { interval, gateOffset } = connection.rateLimit ? gcra(connection.rateLimit) : DEFAULT_RATE;
    const item: ConnectionItem = {
      ...connection,
      rlInterval: interval,
      rlGateOffset: gateOffset,
      expiresAt: connectionExpiry(connection.connectedAt),
      ...(connection.protocol === 'pusher' && { joined: {} }),
    };
    await this.client.send(new PutCommand({ TableName: this.tableName, Item: item }));
  }

  async take(connectionId: string, nowMs: number): Promise<TakeOutcome> {
    const key = { [CONNECTIONS_TABLE.partitionKey.name]: connectionId };
    const values = { ':now': nowMs, ':interval': DEFAULT_RATE.interval };
    // Two conditional updates, so that no read comes first: the first succeeds for a connection
    // whose bucket is full (the usual case), the second within a burst.
    const attempts = [
      {
        // A full bucket: the count of refused frames starts over.
        UpdateExpression:
          'SET tat = :now + if_not_exists(rlInterval, :interval), gate = :now + if_not_exists(rlGateOffset, :offset) REMOVE refusals',
        ConditionExpression: 'attribute_exists(connectionId) AND (attribute_not_exists(tat) OR tat < :now)',
        ExpressionAttributeValues: { ...values, ':offset': DEFAULT_RATE.gateOffset },
      },
      {
        UpdateExpression: 'SET tat = tat + if_not_exists(rlInterval, :interval), gate = gate + if_not_exists(rlInterval, :interval)',
        ConditionExpression: 'attribute_exists(connectionId) AND gate <= :now',
        ExpressionAttributeValues: values,
      },
    ];
    for (const attempt of attempts) {
      try {
        const { Attributes } = await this.client.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: key,
            ...attempt,
            ReturnValues: 'ALL_NEW',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        );
        return { status: 'allowed', connection: toRecord(Attributes as ConnectionItem) };
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        // DynamoDB returns the item that failed the condition; stores that do not are asked.
        if (attempt === attempts[1] && (error as { Item?: unknown }).Item) return this.refused(connectionId);
      }
    }
    return (await this.get(connectionId)) ? this.refused(connectionId) : { status: 'missing' };
  }

  /** Counts a refused frame: how many since the bucket was last full tells a flood from a burst. */
  private async refused(connectionId: string): Promise<TakeOutcome> {
    try {
      const { Attributes } = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [CONNECTIONS_TABLE.partitionKey.name]: connectionId },
          UpdateExpression: 'ADD refusals :one',
          ConditionExpression: 'attribute_exists(connectionId)',
          ExpressionAttributeValues: { ':one': 1 },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      return { status: 'limited', refusals: Number((Attributes as { refusals?: number } | undefined)?.refusals ?? 1) };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return { status: 'missing' };
    }
  }

  async charge(connectionId: string, tokens: number, rateLimit?: RateLimit, ifHeldAt?: number): Promise<boolean> {
    const { interval } = rateLimit ? gcra(rateLimit) : DEFAULT_RATE;
    const ms = tokens * interval;
    // The bucket holds n more while gate + (n − 1) × interval ≤ now (after this frame's take, tat > now).
    const held = ifHeldAt === undefined ? {} : { ':limit': ifHeldAt - (tokens - 1) * interval };
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [CONNECTIONS_TABLE.partitionKey.name]: connectionId },
          UpdateExpression: 'SET tat = tat + :ms, gate = gate + :ms',
          ConditionExpression: ifHeldAt === undefined ? 'attribute_exists(tat)' : 'attribute_exists(tat) AND gate <= :limit',
          ExpressionAttributeValues: { ':ms': ms, ...held },
        }),
      );
      return true;
    } catch (error) {
      // Gone meanwhile (no bucket left to charge), or it does not hold them.
      if (!isConditionFailure(error)) throw error;
      return false;
    }
  }

  async signedBy(projectId: string, keyPrefix: string): Promise<string[]> {
    const credentials = await this.credentialsOf(projectId);
    return credentials.filter((c) => c.keyPrefix === keyPrefix || c.authKeys?.has(keyPrefix)).map((c) => c.connectionId);
  }

  async anonymousOf(projectId: string): Promise<string[]> {
    return (await this.credentialsOf(projectId)).filter((c) => c.keyPrefix === undefined).map((c) => c.connectionId);
  }

  /** The project's live connections and the keys that let them in (the index holds neither: read 100 at a time). */
  private async credentialsOf(projectId: string): Promise<{ connectionId: string; keyPrefix?: string; authKeys?: Set<string> }[]> {
    const listed = await queryIndex(this.client, this.tableName, CONNECTIONS_TABLE.indexes[0], projectId);
    const ids = listed.map((item) => item.connectionId as string);
    const found: { connectionId: string; keyPrefix?: string; authKeys?: Set<string> }[] = [];
    for (let i = 0; i < ids.length; i += 100) {
      let keys: Record<string, unknown>[] | undefined = ids.slice(i, i + 100).map((connectionId) => ({ connectionId }));
      while (keys && keys.length > 0) {
        const page: BatchGetCommandOutput = await this.client.send(
          new BatchGetCommand({
            RequestItems: { [this.tableName]: { Keys: keys, ProjectionExpression: 'connectionId, keyPrefix, authKeys' } },
          }),
        );
        for (const item of page.Responses?.[this.tableName] ?? []) {
          found.push({
            connectionId: item.connectionId as string,
            keyPrefix: item.keyPrefix as string | undefined,
            authKeys: item.authKeys as Set<string> | undefined,
          });
        }
        keys = page.UnprocessedKeys?.[this.tableName]?.Keys;
      }
    }
    return found;
  }

  async get(connectionId: string): Promise<ConnectionRecord | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { [CONNECTIONS_TABLE.partitionKey.name]: connectionId } }),
    );
    return Item ? toRecord(Item as ConnectionItem) : undefined;
  }

  async addChannel(connectionId: string, channel: string, maxChannels: number, authKey?: string): Promise<AddChannelOutcome> {
    try {
      // One conditional update both records the channel and tells whether this is the first
      // subscribe (greeted was unset), so two racing subscribes cannot both claim to be first; and
      // the key whose Pusher channel auth let it in, so revoking that key finds it.
      const { Attributes } = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [CONNECTIONS_TABLE.partitionKey.name]: connectionId },
          UpdateExpression: `ADD channels :channel${authKey ? ', authKeys :key' : ''} SET greeted = :true`,
          ConditionExpression:
            'attribute_exists(connectionId) AND (attribute_not_exists(channels) OR size(channels) < :max OR contains(channels, :name))',
          ExpressionAttributeValues: {
            ':channel': new Set([channel]),
            ':true': true,
            ':max': maxChannels,
            ':name': channel,
            ...(authKey && { ':key': new Set([authKey]) }),
          },
          ReturnValues: 'ALL_OLD',
        }),
      );
      const before = Attributes as ConnectionItem;
      return { status: 'added', first: !before.greeted, connection: toRecord(before) };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return { status: (await this.get(connectionId)) ? 'full' : 'missing' };
    }
  }

  async removeChannel(connectionId: string, channel: string): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [CONNECTIONS_TABLE.partitionKey.name]: connectionId },
          UpdateExpression: 'DELETE channels :channel',
          ConditionExpression: 'attribute_exists(connectionId)',
          ExpressionAttributeValues: { ':channel': new Set([channel]) },
        }),
      );
    } catch (error) {
      // Already disconnected: there is nothing left to remove the channel from.
      if (!isConditionFailure(error)) throw error;
    }
  }

  async noteJoined(connectionId: string, channel: string, position: StreamPosition): Promise<ConnectionRecord | undefined> {
    try {
      const { Attributes } = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [CONNECTIONS_TABLE.partitionKey.name]: connectionId },
          UpdateExpression: 'SET joined.#channel = :position',
          // Bounded as the channel list is: a connection that joins and leaves name after name stops being noted.
          ConditionExpression: 'attribute_exists(joined) AND (size(joined) < :max OR attribute_exists(joined.#channel))',
          ExpressionAttributeNames: { '#channel': channel },
          ExpressionAttributeValues: {
            ':position': { offset: position.offset, epoch: position.epoch },
            ':max': MAX_CHANNELS_PER_CONNECTION,
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return toRecord(Attributes as ConnectionItem);
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      // Signed in meanwhile (the sign-in removed the map), gone, full, or stored before connections
      // had the map: the connection as it is says which.
      return this.get(connectionId);
    }
  }

  async adopt(connectionId: string, user: { userId: string; info?: Record<string, unknown> }): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [CONNECTIONS_TABLE.partitionKey.name]: connectionId },
          UpdateExpression: `SET userId = :user${user.info ? ', info = :info' : ''}`,
          ConditionExpression: 'attribute_exists(connectionId) AND (attribute_not_exists(userId) OR userId = :user)',
          ExpressionAttributeValues: { ':user': user.userId, ...(user.info && { ':info': user.info }) },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async signIn(
    connectionId: string,
    user: { userId: string; info?: Record<string, unknown> },
    authKey: string,
    userRateLimit: RateLimit,
  ): Promise<ConnectionRecord | undefined> {
    try {
      const { Attributes } = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [CONNECTIONS_TABLE.partitionKey.name]: connectionId },
          // Where its channels were when it joined is the sign-in's to read (ALL_OLD), and no longer kept.
          UpdateExpression: `SET userId = :user, signedIn = :user, userRateLimit = :url${user.info ? ', info = :info' : ''} ADD authKeys :key REMOVE joined`,
          // Again as the same user is allowed: a sign-in whose second write failed can be repeated.
          ConditionExpression:
            'attribute_exists(connectionId) AND (attribute_not_exists(signedIn) OR signedIn = :user) AND (attribute_not_exists(userId) OR userId = :user)',
          ExpressionAttributeValues: {
            ':user': user.userId,
            ':key': new Set([authKey]),
            ':url': userRateLimit,
            ...(user.info && { ':info': user.info }),
          },
          ReturnValues: 'ALL_OLD',
        }),
      );
      return toRecord(Attributes as ConnectionItem);
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  async delete(connectionId: string): Promise<ConnectionRecord | undefined> {
    const { Attributes } = await this.client.send(
      new DeleteCommand({
        TableName: this.tableName,
        Key: { [CONNECTIONS_TABLE.partitionKey.name]: connectionId },
        ReturnValues: 'ALL_OLD',
      }),
    );
    return Attributes ? toRecord(Attributes as ConnectionItem) : undefined;
  }

  async listByProject(projectId: string): Promise<{ clientType?: string; connectedAt: number }[]> {
    const nowSeconds = Math.floor(Date.now() / 1000);
    const items = await queryIndex(this.client, this.tableName, CONNECTIONS_TABLE.indexes[0], projectId);
    // Items past their TTL are dead connections DynamoDB has not deleted yet.
    return (items as { clientType?: string; connectedAt: number; expiresAt: number }[])
      .filter((item) => item.expiresAt > nowSeconds)
      .map((item) => ({ clientType: item.clientType, connectedAt: item.connectedAt }));
  }
}
