import { BatchGetCommand, DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { isConditionFailure } from './dynamo-errors';
import type { ApiKeyRecord, ApiKeyStore, StoredKey } from '../ports';
import { API_KEYS_TABLE, MAX_KEYS_PER_PROJECT, PROJECTS_TABLE } from '../contract/tables';
import { queryIndex } from './query-index';

const [BY_PREFIX, LISTING] = PROJECTS_TABLE.indexes;
const [LEGACY_BY_HASH, LEGACY_LISTING] = API_KEYS_TABLE.indexes;
const PK = PROJECTS_TABLE.partitionKey.name;
const SK = PROJECTS_TABLE.sortKey.name;
/** Every key item carries this in its `listing` attribute, so one Query on the index lists them all. */
const LISTING_PARTITION = 'key';
const KEY_ITEM = 'key#';
const SLOTS = Array.from({ length: MAX_KEYS_PER_PROJECT }, (_, i) => `${KEY_ITEM}${i + 1}`);

/** A key item as stored; the older table's items have no `sealedKey`. */
interface KeyItem {
  readonly projectId: string;
  readonly keyPrefix: string;
  readonly keyHash: string;
  readonly sealedKey?: string;
  readonly description?: string;
  readonly createdAt: string;
}

/** What the listing indexes hold of a key: neither its hash nor the sealed key. */
type ListedKeyItem = Omit<KeyItem, 'keyHash' | 'sealedKey'>;

const toRecord = (item: ListedKeyItem, signsTokens: boolean): ApiKeyRecord => ({
  projectId: item.projectId,
  keyPrefix: item.keyPrefix,
  description: item.description ?? '',
  createdAt: item.createdAt,
  signsTokens,
});

const toStored = (item: KeyItem): StoredKey => ({
  ...toRecord(item, item.sealedKey !== undefined),
  keyHash: item.keyHash,
  ...(item.sealedKey !== undefined && { sealedKey: item.sealedKey }),
});

/**
 * Project keys in DynamoDB: up to two per project in the projects table, each holding the key's
 * hash and the key sealed, never the key in clear; plus the read-only keys of the older
 * api-keys table (one per project, hash only).
 */
export class DynamoApiKeyStore implements ApiKeyStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly projectsTable: string,
    private readonly legacyTable: string,
  ) {}

  async add(key: StoredKey): Promise<boolean> {
    const { signsTokens: _, ...item } = key;
    // Fixed slots with a condition make the limit hold even for racing creates.
    for (const slot of SLOTS) {
      try {
        await this.client.send(
          new PutCommand({
            TableName: this.projectsTable,
            Item: { ...item, [SK]: slot, listing: LISTING_PARTITION },
            ConditionExpression: 'attribute_not_exists(#pk)',
            ExpressionAttributeNames: { '#pk': PK },
          }),
        );
        return true;
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
    }
    return false;
  }

  async ofProject(projectId: string): Promise<StoredKey[]> {
    const [{ Items = [] }, legacy] = await Promise.all([
      this.client.send(
        new QueryCommand({
          TableName: this.projectsTable,
          KeyConditionExpression: '#pk = :project AND begins_with(#sk, :key)',
          ExpressionAttributeNames: { '#pk': PK, '#sk': SK },
          ExpressionAttributeValues: { ':project': projectId, ':key': KEY_ITEM },
          ConsistentRead: true,
        }),
      ),
      this.legacyItem(projectId),
    ]);
    return [...(Items as KeyItem[]).map(toStored), ...(legacy ? [toStored(legacy)] : [])];
  }

  async withPrefix(keyPrefix: string): Promise<StoredKey[]> {
    // The index holds the table's keys only.
    const matches = await queryIndex<Record<typeof PK | typeof SK, string>>(this.client, this.projectsTable, BY_PREFIX, keyPrefix);
    if (matches.length === 0) return [];
    // The index is eventually consistent; the table is read consistently, so a revoked key
    // stops working the moment its item is deleted, in every warm handler.
    const { Responses } = await this.client.send(
      new BatchGetCommand({
        RequestItems: {
          [this.projectsTable]: { Keys: matches.map((match) => ({ [PK]: match[PK], [SK]: match[SK] })), ConsistentRead: true },
        },
      }),
    );
    const items = (Responses?.[this.projectsTable] ?? []) as KeyItem[];
    return items.filter((item) => item.keyPrefix === keyPrefix).map(toStored);
  }

  async legacyProjectForHash(keyHash: string): Promise<string | undefined> {
    const [match] = await queryIndex<Pick<KeyItem, 'projectId' | 'keyHash'>>(this.client, this.legacyTable, LEGACY_BY_HASH, keyHash);
    if (!match) return undefined;
    return (await this.legacyItem(match.projectId))?.keyHash === keyHash ? match.projectId : undefined;
  }

  async list(): Promise<ApiKeyRecord[]> {
    const [current, legacy] = await Promise.all([
      queryIndex<ListedKeyItem>(this.client, this.projectsTable, LISTING, LISTING_PARTITION),
      queryIndex<ListedKeyItem>(this.client, this.legacyTable, LEGACY_LISTING, LISTING_PARTITION),
    ]);
    // The listing index does not hold sealedKey; every key in the projects table is sealed.
    return [...current.map((item) => toRecord(item, true)), ...legacy.map((item) => toRecord(item, false))].sort(
      (a, b) => a.projectId.localeCompare(b.projectId) || a.createdAt.localeCompare(b.createdAt),
    );
  }

  async remove(projectId: string, keyPrefix: string): Promise<boolean> {
    const key = (await this.ofProject(projectId)).find((stored) => stored.keyPrefix === keyPrefix);
    if (!key) return false;
    const { Attributes } = key.signsTokens
      ? await this.deleteSlot(projectId, keyPrefix)
      : await this.client.send(new DeleteCommand({ TableName: this.legacyTable, Key: { projectId }, ReturnValues: 'ALL_OLD' }));
    return Attributes !== undefined;
  }

  private async deleteSlot(projectId: string, keyPrefix: string) {
    for (const slot of SLOTS) {
      try {
        return await this.client.send(
          new DeleteCommand({
            TableName: this.projectsTable,
            Key: { [PK]: projectId, [SK]: slot },
            // Only the slot that holds this key: a slot reused since is another key.
            ConditionExpression: 'keyPrefix = :prefix',
            ExpressionAttributeValues: { ':prefix': keyPrefix },
            ReturnValues: 'ALL_OLD',
          }),
        );
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
    }
    return { Attributes: undefined };
  }

  private async legacyItem(projectId: string): Promise<KeyItem | undefined> {
    const { Item } = await this.client.send(new GetCommand({ TableName: this.legacyTable, Key: { projectId }, ConsistentRead: true }));
    return Item as KeyItem | undefined;
  }
}
