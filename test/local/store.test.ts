import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { LOCAL_AWS, LOCAL_TABLES, startLocalStore } from '../../local/store';

describe('local store on disk (LOCAL_DATA_DIR)', () => {
  it('keeps project keys across restarts and forgets connections, which died with the gateway', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'broadcast-store-'));
    const open = async () => {
      const store = await startLocalStore({ dataDir: dir });
      const documents = DynamoDBDocumentClient.from(new DynamoDBClient({ ...LOCAL_AWS, endpoint: store.endpoint }));
      return { store, documents };
    };
    try {
      const first = await open();
      await first.documents.send(
        new PutCommand({ TableName: LOCAL_TABLES.apiKeys.name, Item: { projectId: 'kept', keyHash: 'h', listing: 'key' } }),
      );
      await first.documents.send(
        new PutCommand({ TableName: LOCAL_TABLES.connections.name, Item: { connectionId: 'old=', projectId: 'kept', connectedAt: 1 } }),
      );
      // Counted open when the process died, with no $disconnect to follow.
      await first.documents.send(
        new PutCommand({ TableName: LOCAL_TABLES.usage.name, Item: { projectId: 'kept', period: 'live#2099010100', live: 1 } }),
      );
      first.documents.destroy();
      await first.store.stop();

      const second = await open();
      const key = await second.documents.send(new GetCommand({ TableName: LOCAL_TABLES.apiKeys.name, Key: { projectId: 'kept' } }));
      const connection = await second.documents.send(
        new GetCommand({ TableName: LOCAL_TABLES.connections.name, Key: { connectionId: 'old=' } }),
      );
      const counted = await second.documents.send(
        new GetCommand({ TableName: LOCAL_TABLES.usage.name, Key: { projectId: 'kept', period: 'live#2099010100' } }),
      );
      expect(key.Item).toMatchObject({ projectId: 'kept' });
      expect(connection.Item).toBeUndefined();
      // The first client after a restart is counted as the only one.
      expect(counted.Item).toBeUndefined();
      second.documents.destroy();
      await second.store.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps its folder and files readable by their owner only', async () => {
    const dir = path.join(mkdtempSync(path.join(tmpdir(), 'broadcast-store-')), 'data');
    try {
      const store = await startLocalStore({ dataDir: dir });
      const documents = DynamoDBDocumentClient.from(new DynamoDBClient({ ...LOCAL_AWS, endpoint: store.endpoint }));
      await documents.send(
        new PutCommand({ TableName: LOCAL_TABLES.apiKeys.name, Item: { projectId: 'p', keyHash: 'h', listing: 'key' } }),
      );
      documents.destroy();
      await store.stop();
      expect(statSync(dir).mode & 0o777).toBe(0o700);
      const files = readdirSync(dir, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile());
      expect(files.length).toBeGreaterThan(0);
      for (const file of files)
        expect({ file: file.name, mode: statSync(path.join(file.parentPath, file.name)).mode & 0o777 }).toEqual({
          file: file.name,
          mode: 0o600,
        });
    } finally {
      rmSync(path.dirname(dir), { recursive: true, force: true });
    }
  });
});
