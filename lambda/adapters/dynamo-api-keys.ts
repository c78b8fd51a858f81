import { DeleteCommand, DynamoDBDocumentClient, GetCommand, paginateQuery, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { ApiKeyRecord, ApiKeyStore } from '../ports';
import { API_KEYS_TABLE } from '../tables';

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
      if ((error as Error).name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  async get(projectId: string): Promise<ApiKeyRecord | undefined> {
    const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: { projectId }, ConsistentRead: true }));
    return Item ? toRecord(Item) : undefined;
  }

  async hashOf(projectId: string): Promise<string | undefined> {
    const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: { projectId }, ConsistentRead: true }));
    return Item?.keyHash as string | undefined;
  }

  async list(): Promise<ApiKeyRecord[]> {
    const records: ApiKeyRecord[] = [];
    const pages = paginateQuery(
      { client: this.client },
      {
        TableName: this.tableName,
        IndexName: LISTING.indexName,
        KeyConditionExpression: '#l = :l',
        ExpressionAttributeNames: { '#l': LISTING.partitionKey.name },
        ExpressionAttributeValues: { ':l': LISTING_PARTITION },
      },
    );
    for await (const page of pages) records.push(...(page.Items ?? []).map(toRecord));
    return records;
  }

  async delete(projectId: string): Promise<boolean> {
    const { Attributes } = await this.client.send(
      new DeleteCommand({ TableName: this.tableName, Key: { projectId }, ReturnValues: 'ALL_OLD' }),
    );
    return Attributes !== undefined;
  }

  async projectForHash(keyHash: string): Promise<string | undefined> {
    const { Items } = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: BY_HASH.indexName,
        KeyConditionExpression: '#h = :h',
        ExpressionAttributeNames: { '#h': BY_HASH.partitionKey.name },
        ExpressionAttributeValues: { ':h': keyHash },
      }),
    );
    const projectId = Items?.[0]?.projectId as string | undefined;
    if (!projectId) return undefined;
    // The index is eventually consistent; the table is read consistently, so a revoked key
    // stops working the moment its item is deleted, in every warm handler.
    const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: { projectId }, ConsistentRead: true }));
    return Item?.keyHash === keyHash ? projectId : undefined;
  }
}
