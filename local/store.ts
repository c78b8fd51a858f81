/**
 * The local DynamoDB: dynalite on loopback, with the tables built from the same definitions the
 * CDK construct uses, and a sweeper standing in for TTL, which dynalite lacks.
 */
import { chmodSync, mkdirSync, readdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { CreateTableCommand, DynamoDBClient, ResourceInUseException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, paginateScan } from '@aws-sdk/lib-dynamodb';
import dynalite from 'dynalite';
import { KeyAttribute, LIVE_PERIOD_PREFIX, TableDefinition, TableName, TABLES, tableSettings } from '../lambda/contract/tables';

/** Fixed credentials for loopback services: nothing checks them, but the SDK must sign with something. */
export const LOCAL_AWS = {
  region: 'us-east-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
} as const;

/** The product's tables as the local store names them: `broadcast-<name>` (kebab case). */
export const LOCAL_TABLES = Object.fromEntries(
  (Object.entries(TABLES) as [TableName, (typeof TABLES)[TableName]][]).map(([name, spec]) => [
    name,
    { name: `broadcast-${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`, definition: spec.definition },
  ]),
) as { readonly [N in TableName]: { readonly name: string; readonly definition: (typeof TABLES)[N]['definition'] } };

export interface LocalStoreOptions {
  /** Persist to this folder; in memory when absent. */
  readonly dataDir?: string;
  readonly host?: string;
  /** How often expired items are deleted. @default 60000 */
  readonly ttlSweepMs?: number;
}

export interface LocalStore {
  readonly endpoint: string;
  /** Deletes every expired item now; returns how many. */
  sweepExpired(now?: number): Promise<number>;
  stop(): Promise<void>;
}

/**
 * The store's folder holds project key hashes: only its owner may read it. The folder is made 0700
 * and its files 0600 (the CLI also sets a umask so that files written meanwhile are 0600 too).
 */
function restrictToOwner(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const full = path.join(entry.parentPath, entry.name);
    chmodSync(full, entry.isDirectory() ? 0o700 : 0o600);
  }
}

/** The handler's table settings for the local store's tables (as the construct sets them for its own). */
export const LOCAL_TABLE_SETTINGS = tableSettings((name) => LOCAL_TABLES[name].name);

export async function startLocalStore(options: LocalStoreOptions = {}): Promise<LocalStore> {
  if (options.dataDir) restrictToOwner(options.dataDir);
  const server = dynalite({ path: options.dataDir, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  const endpoint = `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
  const client = new DynamoDBClient({ ...LOCAL_AWS, endpoint });
  const documents = DynamoDBDocumentClient.from(client);

  for (const { name, definition } of Object.values(LOCAL_TABLES)) await createTable(client, name, definition);

  /** Deletes the items of `tables` that `doomed` picks. A Scan is fine here: never on a request path. */
  async function deleteWhere(
    tables: readonly { name: string; definition: TableDefinition }[],
    doomed: (item: Record<string, unknown>, definition: TableDefinition) => boolean,
  ): Promise<number> {
    let deleted = 0;
    for (const { name, definition } of tables) {
      const keyNames = [definition.partitionKey.name, ...(definition.sortKey ? [definition.sortKey.name] : [])];
      for await (const page of paginateScan({ client: documents }, { TableName: name })) {
        for (const item of page.Items ?? []) {
          if (!doomed(item, definition)) continue;
          await documents.send(new DeleteCommand({ TableName: name, Key: Object.fromEntries(keyNames.map((key) => [key, item[key]])) }));
          deleted++;
        }
      }
    }
    return deleted;
  }

  /** The local stand-in for DynamoDB TTL. */
  function sweepExpired(now = Date.now()): Promise<number> {
    const nowSeconds = Math.floor(now / 1000);
    const withTtl = (Object.values(LOCAL_TABLES) as { name: string; definition: TableDefinition }[]).filter(
      (t) => t.definition.ttlAttribute,
    );
    return deleteWhere(withTtl, (item, definition) => {
      const expiresAt = item[definition.ttlAttribute!];
      return typeof expiresAt === 'number' && expiresAt <= nowSeconds;
    });
  }

  // A saved store outlives the gateway's sockets: every connection it remembers is dead, so
  // they go, and every project's count of open connections starts again from zero.
  if (options.dataDir) {
    await deleteWhere([LOCAL_TABLES.connections, LOCAL_TABLES.subscriptions], () => true);
    await deleteWhere([LOCAL_TABLES.usage], (item) => String(item.period).startsWith(LIVE_PERIOD_PREFIX));
  }

  const sweeper = setInterval(() => void sweepExpired().catch(() => undefined), options.ttlSweepMs ?? 60_000);
  sweeper.unref();

  return {
    endpoint,
    sweepExpired,
    async stop() {
      clearInterval(sweeper);
      client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (options.dataDir) restrictToOwner(options.dataDir);
    },
  };
}

async function createTable(client: DynamoDBClient, name: string, definition: TableDefinition): Promise<void> {
  const keySchema = (partitionKey: KeyAttribute, sortKey?: KeyAttribute) => [
    { AttributeName: partitionKey.name, KeyType: 'HASH' as const },
    ...(sortKey ? [{ AttributeName: sortKey.name, KeyType: 'RANGE' as const }] : []),
  ];
  const attributes = new Map<string, KeyAttribute>();
  for (const key of [
    definition.partitionKey,
    definition.sortKey,
    ...(definition.indexes ?? []).flatMap((i) => [i.partitionKey, i.sortKey]),
  ]) {
    if (key) attributes.set(key.name, key);
  }
  try {
    await client.send(
      new CreateTableCommand({
        TableName: name,
        KeySchema: keySchema(definition.partitionKey, definition.sortKey),
        AttributeDefinitions: [...attributes.values()].map(({ name: AttributeName, type }) => ({ AttributeName, AttributeType: type })),
        BillingMode: 'PAY_PER_REQUEST',
        GlobalSecondaryIndexes: definition.indexes?.map((index) => ({
          IndexName: index.indexName,
          KeySchema: keySchema(index.partitionKey, index.sortKey),
          Projection: index.include ? { ProjectionType: 'INCLUDE', NonKeyAttributes: [...index.include] } : { ProjectionType: 'KEYS_ONLY' },
        })),
      }),
    );
  } catch (error) {
    // A persisted data folder already has its tables.
    if (!(error instanceof ResourceInUseException)) throw error;
  }
}
