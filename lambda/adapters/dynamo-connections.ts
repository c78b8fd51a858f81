import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { isConditionFailure } from './dynamo-errors';
import type { AddChannelOutcome, ConnectionRecord, ConnectionStore, NewConnection } from '../ports';
import { CONNECTIONS_TABLE, connectionExpiry } from '../contract/tables';
import { queryIndex } from './query-index';

interface ConnectionItem extends NewConnection {
  channels?: Set<string>;
  greeted?: boolean;
  expiresAt: number;
}


const toRecord = (item: ConnectionItem): ConnectionRecord => ({
  connectionId: item.connectionId,
  projectId: item.projectId,
  connectedAt: item.connectedAt,
  clientType: item.clientType,
  userId: item.userId,
  sourceIp: item.sourceIp,
  userAgent: item.userAgent,
  channels: [...(item.channels ?? [])],
});

/** Connections in DynamoDB, one item per connection, keyed by connection id. */
export class DynamoConnectionStore implements ConnectionStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async put(connection: NewConnection): Promise<void> {
    const item: ConnectionItem = {
      ...connection,
      expiresAt: connectionExpiry(connection.connectedAt),
    };
    await this.client.send(new PutCommand({ TableName: this.tableName, Item: item }));
  }

  async get(connectionId: string): Promise<ConnectionRecord | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { [CONNECTIONS_TABLE.partitionKey.name]: connectionId } }),
    );
    return Item ? toRecord(Item as ConnectionItem) : undefined;
  }

  async addChannel(connectionId: string, channel: string, maxChannels: number): Promise<AddChannelOutcome> {
    try {
      // One conditional update both records the channel and tells whether this is the first
      // subscribe (greeted was unset), so two racing subscribes cannot both claim to be first.
      const { Attributes } = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [CONNECTIONS_TABLE.partitionKey.name]: connectionId },
          UpdateExpression: 'ADD channels :channel SET greeted = :true',
          ConditionExpression:
            'attribute_exists(connectionId) AND (attribute_not_exists(channels) OR size(channels) < :max OR contains(channels, :name))',
          ExpressionAttributeValues: { ':channel': new Set([channel]), ':true': true, ':max': maxChannels, ':name': channel },
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
    return items.filter((item) => item.expiresAt > nowSeconds).map((item) => ({ clientType: item.clientType, connectedAt: item.connectedAt }));
  }
}
