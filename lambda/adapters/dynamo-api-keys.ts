import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { isConditionFailure } from './dynamo-errors';
import type { ApiKeyRecord, ApiKeyStore } from '../ports';
import { API_KEYS_TABLE } from '../contract/tables';
import { queryIndex } from './query-index';

const [BY_HASH, LISTING] = API_KEYS_TABLE.indexes;
/** Every key item carries this in its `listing` attribute, so one Query on the index lists them all. */
const LISTING_PARTITION = 'key';

const toRecord = (item: Record<string, unknown>): ApiKeyRecord => ({
  projectId: item.projectId as string,
  keyPrefix: item.keyPrefix as string,
  description: (item.description as string) ?? '',
  createdAt: item.createdAt as string,
});

/** Project API keys in DynamoDB: one item per project, holding the key's hash, never the key. */
export class DynamoApiKeyStore implements ApiKeyStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async create(record: ApiKeyRecord, keyHash: string): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...record, keyHash, listing: LISTING_PARTITION },
          ConditionExpression: 'attribute_not_exists(projectId)',
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async get(projectId: string): Promise<ApiKeyRecord | undefined> {
    const item = await this.item(projectId);
    return item ? toRecord(item) : undefined;
  }

  async hashOf(projectId: string): Promise<string | undefined> {
    return (await this.item(projectId))?.keyHash as string | undefined;
  }

  async list(): Promise<ApiKeyRecord[]> {
    return (await queryIndex(this.client, this.tableName, LISTING, LISTING_PARTITION)).map(toRecord);
  }

  async delete(projectId: string): Promise<boolean> {
    const { Attributes } = await this.client.send(
      new DeleteCommand({ TableName: this.tableName, Key: { projectId }, ReturnValues: 'ALL_OLD' }),
    );
    return Attributes !== undefined;
  }

  async projectForHash(keyHash: string): Promise<string | undefined> {
    const [match] = await queryIndex(this.client, this.tableName, BY_HASH, keyHash);
    if (!match) return undefined;
    // The index is eventually consistent; the table is read consistently, so a revoked key
    // stops working the moment its item is deleted, in every warm handler.
    return (await this.hashOf(match.projectId)) === keyHash ? match.projectId : undefined;
  }

  /** A project's key item, read consistently: a revoke or a new key shows at once. */
  private async item(projectId: string): Promise<Record<string, unknown> | undefined> {
    const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: { projectId }, ConsistentRead: true }));
    return Item;
  }
}
