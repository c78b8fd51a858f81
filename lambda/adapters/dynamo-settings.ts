import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { PROJECTS_TABLE } from '../contract/tables';
import type { SettingsStore, StoredSettings } from '../ports';
import { isConditionFailure } from './dynamo-errors';

const PK = PROJECTS_TABLE.partitionKey.name;
const SK = PROJECTS_TABLE.sortKey.name;
const SETTINGS = 'settings';

/** Project settings in DynamoDB: one item per project in the projects table. */
export class DynamoSettingsStore implements SettingsStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async get(projectId: string): Promise<StoredSettings | undefined> {
    // Consistent: a change the master key just made is what the next cache miss sees.
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { [PK]: projectId, [SK]: SETTINGS }, ConsistentRead: true }),
    );
    // The item is the settings as given to `put`, beside its keys.
    const item = Item as StoredSettings | undefined;
    return item ? { settings: item.settings, updatedAt: item.updatedAt } : undefined;
  }

  async put(projectId: string, stored: StoredSettings): Promise<void> {
    await this.client.send(new PutCommand({ TableName: this.tableName, Item: { [PK]: projectId, [SK]: SETTINGS, ...stored } }));
  }

  async putIfAbsent(projectId: string, stored: StoredSettings): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { [PK]: projectId, [SK]: SETTINGS, ...stored },
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': PK },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }
}
