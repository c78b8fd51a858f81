import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { RecipientPage } from '../../../lambda/ports';
import { DynamoSubscriptionStore } from '../../../lambda/adapters/dynamo-subscriptions';
import { LOCAL_TABLES } from '../../../local/store';
import { connectionExpiry } from '../../../lambda/contract/tables';
import { startTestStore, TestStore } from '../../helpers/dynamo';

let db: TestStore;
beforeAll(async () => {
  db = await startTestStore();
});
afterAll(() => db.stop());

const collect = async (pages: AsyncIterable<RecipientPage>) => {
  const all: string[] = [];
  for await (const page of pages) all.push(...page.ids);
  return all;
};

describe('DynamoConnectionStore', () => {
  const connection = (connectionId: string) => ({
    connectionId,
    projectId: 'default',
    connectedAt: 1763764680000,
    sourceIp: '203.0.113.5',
  });

  it('stores a connection with an expiry past API Gateway’s 2-hour maximum', async () => {
    await db.connections.put(connection('put-1='));
    const { Item } = await db.documents.send(new GetCommand({ TableName: LOCAL_TABLES.connections.name, Key: { connectionId: 'put-1=' } }));
    expect(Item!.expiresAt - 1763764680).toBeGreaterThan(2 * 3600);
    expect(await db.connections.get('put-1=')).toEqual({ ...connection('put-1='), userAgent: undefined, channels: [] });
  });

  it('says first only on the first channel ever added', async () => {
    await db.connections.put(connection('first-1='));
    const one = await db.connections.addChannel('first-1=', 'a', 10);
    const two = await db.connections.addChannel('first-1=', 'b', 10);
    await db.connections.removeChannel('first-1=', 'a');
    await db.connections.removeChannel('first-1=', 'b');
    const three = await db.connections.addChannel('first-1=', 'c', 10);
    expect([one, two, three].map((o) => o.status === 'added' && o.first)).toEqual([true, false, false]);
  });

  it('refuses a channel beyond the maximum but re-adding a held one is fine', async () => {
    await db.connections.put(connection('full-1='));
    await db.connections.addChannel('full-1=', 'a', 2);
    await db.connections.addChannel('full-1=', 'b', 2);
    expect(await db.connections.addChannel('full-1=', 'c', 2)).toEqual({ status: 'full' });
    expect((await db.connections.addChannel('full-1=', 'a', 2)).status).toBe('added');
  });

  it('reports a missing connection instead of creating one', async () => {
    expect(await db.connections.addChannel('never-1=', 'a', 10)).toEqual({ status: 'missing' });
    expect(await db.connections.get('never-1=')).toBeUndefined();
  });

  it('takes messages from a token bucket: the burst at once, then one per interval', async () => {
    await db.connections.put({ ...connection('rate-1='), rateLimit: { perSecond: 2, burst: 3 } });
    const t0 = 1_800_000_000_000;
    const at = async (ms: number) => (await db.connections.take('rate-1=', t0 + ms)).status;
    expect([await at(0), await at(0), await at(0), await at(0)]).toEqual(['allowed', 'allowed', 'allowed', 'limited']);
    expect(await at(499)).toBe('limited');
    expect(await at(500)).toBe('allowed');
    expect(await at(500)).toBe('limited');
    // A long pause refills the bucket to its burst, never beyond.
    const later = [0, 0, 0, 0].map(() => 60_000);
    const statuses: string[] = [];
    for (const ms of later) statuses.push(await at(ms));
    expect(statuses).toEqual(['allowed', 'allowed', 'allowed', 'limited']);
  });

  it('returns the sender with the message it takes, and says missing for none', async () => {
    await db.connections.put({ ...connection('rate-2='), userId: 'alice', publishGrants: ['chat-*'] });
    expect(await db.connections.take('rate-2=', Date.now())).toEqual({
      status: 'allowed',
      connection: expect.objectContaining({ connectionId: 'rate-2=', userId: 'alice', publishGrants: ['chat-*'], channels: [] }),
    });
    expect(await db.connections.take('never-2=', Date.now())).toEqual({ status: 'missing' });
    expect(await db.connections.get('never-2=')).toBeUndefined();
  });

  it('gives an item written before rate limits the open default (10/s, burst 20)', async () => {
    await db.documents.send(new PutCommand({ TableName: LOCAL_TABLES.connections.name, Item: { ...connection('old-1='), expiresAt: 0 } }));
    const statuses: string[] = [];
    for (let i = 0; i < 21; i++) statuses.push((await db.connections.take('old-1=', 1_800_000_000_000)).status);
    expect(statuses.filter((s) => s === 'allowed')).toHaveLength(20);
    expect(statuses.at(-1)).toBe('limited');
  });

  it('finds the connections a key signed in, among its project’s', async () => {
    await db.connections.put({ ...connection('key-a='), projectId: 'signed', keyPrefix: 'rbk_AAAAAAAA' });
    await db.connections.put({ ...connection('key-b='), projectId: 'signed', keyPrefix: 'rbk_BBBBBBBB' });
    await db.connections.put({ ...connection('key-c='), projectId: 'signed' });
    await db.connections.put({ ...connection('key-d='), projectId: 'other', keyPrefix: 'rbk_AAAAAAAA' });
    expect(await db.connections.signedBy('signed', 'rbk_AAAAAAAA')).toEqual(['key-a=']);
  });

  it('deletes and returns what was there, once', async () => {
    await db.connections.put(connection('del-1='));
    await db.connections.addChannel('del-1=', 'x', 10);
    expect(await db.connections.delete('del-1=')).toMatchObject({ connectionId: 'del-1=', channels: ['x'] });
    expect(await db.connections.delete('del-1=')).toBeUndefined();
  });
});

describe('DynamoSubscriptionStore', () => {
  it('lists a channel’s subscribers by Query, scoped to the project', async () => {
    const expiry = connectionExpiry(Date.now());
    await db.subscriptions.add({ projectId: 'p1', channel: 'news', connectionId: 'a=' }, expiry);
    await db.subscriptions.add({ projectId: 'p1', channel: 'news', connectionId: 'b=' }, expiry);
    await db.subscriptions.add({ projectId: 'p2', channel: 'news', connectionId: 'c=' }, expiry);
    expect((await collect(db.subscriptions.subscribers('p1', 'news'))).sort()).toEqual(['a=', 'b=']);
    expect(await collect(db.subscriptions.subscribers('p2', 'news'))).toEqual(['c=']);
  });

  it('skips subscriptions whose TTL has passed but DynamoDB has not yet deleted', async () => {
    await db.subscriptions.add({ projectId: 'p1', channel: 'old', connectionId: 'dead=' }, Math.floor(Date.now() / 1000) - 1);
    await db.subscriptions.add({ projectId: 'p1', channel: 'old', connectionId: 'live=' }, connectionExpiry(Date.now()));
    expect(await collect(db.subscriptions.subscribers('p1', 'old'))).toEqual(['live=']);
  });

  it('reads every page of a large channel', async () => {
    const ids = Array.from({ length: 60 }, (_, i) => `big-${String(i).padStart(3, '0')}=`);
    const expiry = connectionExpiry(Date.now());
    await Promise.all(ids.map((connectionId) => db.subscriptions.add({ projectId: 'p1', channel: 'big', connectionId }, expiry)));
    // Small pages prove pagination without writing a megabyte.
    const paged = new DynamoSubscriptionStore(db.documents, LOCAL_TABLES.subscriptions.name, { pageSize: 7 });
    const pages: (readonly string[])[] = [];
    for await (const page of paged.subscribers('p1', 'big')) pages.push(page.ids);
    expect(pages.length).toBe(9);
    expect(pages.flat()).toEqual(ids);
  });

  it('keeps a typical subscription item under 100 bytes', async () => {
    // DynamoDB item size: attribute names plus values (numbers ~ 1 byte per 2 digits + 1).
    await db.subscriptions.add(
      { projectId: 'default', channel: 'logs:thread-123', connectionId: 'L0SM9cOFvHcCIhw=' },
      connectionExpiry(Date.now()),
    );
    const { Item: item } = await db.documents.send(
      new GetCommand({ TableName: LOCAL_TABLES.subscriptions.name, Key: { pk: 'default#logs:thread-123', sk: 'L0SM9cOFvHcCIhw=' } }),
    );
    expect(Object.keys(item!).sort()).toEqual(['p', 'pk', 'sk', 'ttl']);
    const size = Object.entries(item!).reduce(
      (sum, [name, value]) =>
        sum + name.length + (typeof value === 'number' ? Math.ceil(String(value).length / 2) + 1 : String(value).length),
      0,
    );
    expect(size).toBeLessThanOrEqual(100);
  });

  it('removes many subscriptions in batches of 25', async () => {
    const expiry = connectionExpiry(Date.now());
    const keys = Array.from({ length: 30 }, (_, i) => ({ projectId: 'p1', channel: `ch-${i}`, connectionId: 'many=' }));
    await Promise.all(keys.map((key) => db.subscriptions.add(key, expiry)));
    await db.subscriptions.removeMany(keys);
    for (const key of keys.slice(0, 3)) expect(await collect(db.subscriptions.subscribers('p1', key.channel))).toEqual([]);
  });
});
