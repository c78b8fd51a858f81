import { DeleteCommand, DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { PROJECTS_TABLE } from '../contract/tables';
import type { NamespaceConfig } from '../contract/namespaces';
import type { NamespaceStore, StoredNamespace } from '../ports';

const PK = PROJECTS_TABLE.partitionKey.name;
const SK = PROJECTS_TABLE.sortKey.name;
const PREFIX = 'ns#';

/** A namespace item as stored (its partition key aside). */
interface NamespaceItem {
  readonly [SK]: string;
  readonly config: NamespaceConfig;
  readonly updatedAt: string;
}

/** A project's namespace configurations in the projects table: `{ projectId, item: "ns#<namespace>", config, updatedAt }`. */
export class DynamoNamespaceStore implements NamespaceStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async list(projectId: string): Promise<StoredNamespace[]> {
    // At most 100 small items per project: one page. Consistent, like the settings.
    const { Items } = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: '#pk = :p AND begins_with(#sk, :ns)',
        ExpressionAttributeNames: { '#pk': PK, '#sk': SK },
        ExpressionAttributeValues: { ':p': projectId, ':ns': PREFIX },
        ConsistentRead: true,
      }),
    );
    return ((Items ?? []) as NamespaceItem[]).map((item) => ({
      namespace: item[SK].slice(PREFIX.length),
      config: item.config,
      updatedAt: item.updatedAt,
    }));
  }

  async put(projectId: string, stored: StoredNamespace): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { [PK]: projectId, [SK]: `${PREFIX}${stored.namespace}`, config: stored.config, updatedAt: stored.updatedAt },
      }),
    );
  }

  async remove(projectId: string, namespace: string): Promise<boolean> {
    const { Attributes } = await this.client.send(
      new DeleteCommand({ TableName: this.tableName, Key: { [PK]: projectId, [SK]: `${PREFIX}${namespace}` }, ReturnValues: 'ALL_OLD' }),
    );
    return Attributes !== undefined;
  }
}
