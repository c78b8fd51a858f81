/**
 * The local stack for end-to-end tests: `useLocalStack()` at the top of a test file starts it
 * before the tests, closes every client after each test and stops it after all, and gives the
 * ways in — real WebSocket clients and real HTTP.
 */
import { appendFileSync } from 'node:fs';
import { ClientClaims, signClientToken } from '../../lambda/auth/tokens';
import { LocalStack, LocalStackOptions, startLocalStack } from '../../local/stack';
import { postJson, TestClient } from './clients';

export interface ProjectKey {
  readonly apiKey: string;
  readonly keyPrefix: string;
}

export function useLocalStack(options: LocalStackOptions & { accessKey: string }) {
  let stack: LocalStack | undefined;
  const clients: TestClient[] = [];
  /** Everything the handler threw: API Gateway would have answered 500. */
  const handlerErrors: unknown[] = [];

  beforeAll(async () => {
    stack = await startLocalStack({ onHandlerError: (error) => handlerErrors.push(error), ...options });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
  });
  afterAll(async () => {
    if (!stack) return;
    await stack.stop();
    // Enforcement is on unless a suite turns it off; a call the handler's role may not make
    // fails the suite even when the test that caused it passed (a background task, say).
    if (options.iam !== false) {
      // IAM_REPORT=file npm test collects what the handler asked IAM for, suite by suite.
      if (process.env.IAM_REPORT) {
        const lines = [...stack.iamRequests()].map(([request, counts]) => JSON.stringify({ request, ...counts }));
        appendFileSync(process.env.IAM_REPORT, lines.map((line) => `${line}\n`).join(''));
      }
      expect(stack.policy).toBeDefined();
      expect(stack.deniedCalls()).toBe(0);
    }
  });

  /** Opens a connection and takes its `connected` system message, so a test sees only what follows. */
  async function connect(query: string | Record<string, string> = '', headers?: Record<string, string>) {
    const search = typeof query === 'string' ? query : `?${new URLSearchParams(query)}`;
    const client = await TestClient.open(`${stack!.webSocketUrl}${search}`, { headers });
    clients.push(client);
    const connected = await client.next<{ clientId: string; clientCount: number; projectId: string }>((m) => m.type === 'connected');
    client.connectionId = connected.clientId;
    client.projectId = connected.projectId;
    return { client, id: connected.clientId, connected };
  }

  /** Subscribes, taking the replies: `connection_id` on a first subscribe, then the confirmation. */
  async function subscribe(client: TestClient, channel: string) {
    client.send({ action: 'subscribe', channel });
    await client.next((m) => m.type === 'subscription_succeeded' && m.channel === channel);
    const index = client.messages.findIndex((raw) => raw.includes('"connection_id"'));
    if (index >= 0) client.messages.splice(index, 1);
  }

  /** A new connection subscribed to the channel: `connection_id` first, then the confirmation, nothing between. */
  async function subscriber(channel: string, query: string | Record<string, string> = '', headers?: Record<string, string>) {
    const { client } = await connect(query, headers);
    client.send({ action: 'subscribe', channel });
    const hello = await client.next<{ connection_id: string }>();
    expect(hello).toEqual({
      kind: 'reply',
      type: 'connection_id',
      connection_id: expect.any(String),
      socket_id: expect.stringMatching(/^\d+\.\d+$/),
    });
    expect(await client.next()).toEqual({ kind: 'reply', type: 'subscription_succeeded', channel });
    return { client, id: hello.connection_id };
  }

  /**
   * A barrier instead of a pause: once every invocation so far has ended (background tasks
   * included), a sentinel posted to each client arrives after anything it was sent before. So
   * what a client holds after the barrier is all it was ever going to get.
   */
  let sentinels = 0;
  async function barrier(...targets: (TestClient | { client: TestClient })[]): Promise<void> {
    await stack!.gateway.settled();
    await Promise.all(
      targets.map(async (target) => {
        const client = target instanceof TestClient ? target : target.client;
        if (!client.connectionId) throw new Error('barrier: the client was not opened with connect(), so its connection is unknown');
        const data = `barrier-${++sentinels}`;
        const posted = await postJson(
          `${stack!.httpUrl}/broadcast`,
          { projectId: client.projectId, connectionId: client.connectionId, event: 'barrier', data },
          { Authorization: `Bearer ${options.accessKey}` },
        );
        expect(posted.json).toMatchObject({ success: true, sent: 1 });
        await client.next((m) => m.event === 'barrier' && m.data === data);
      }),
    );
  }

  const keys = new Map<string, ProjectKey>();

  /** A new key for the project (which makes it a keyed project), made with the master key. */
  async function createKey(projectId: string): Promise<ProjectKey> {
    const created = await postJson(`${stack!.httpUrl}/api-keys`, { projectId }, { Authorization: `Bearer ${options.accessKey}` });
    expect(created.status).toBe(201);
    const key = { apiKey: created.json.data.apiKey as string, keyPrefix: created.json.data.keyPrefix as string };
    if (!keys.has(projectId)) keys.set(projectId, key);
    return key;
  }

  /** A client token for the project, signed as its backend would, with the project's first key (created if need be). */
  async function tokenFor(projectId: string, claims: ClientClaims = { sub: 'user' }, ttlSeconds = 600, key?: ProjectKey) {
    return signClientToken(claims, key ?? keys.get(projectId) ?? (await createKey(projectId)), ttlSeconds);
  }

  return {
    stack: () => stack!,
    createKey,
    tokenFor,
    handlerErrors,
    connect,
    subscribe,
    subscriber,
    barrier,
    /** `POST /broadcast` with a bearer key. */
    broadcast: (body: unknown, key = options.accessKey) =>
      postJson(`${stack!.httpUrl}/broadcast`, body, { Authorization: `Bearer ${key}` }),
  };
}

/** Polls until `check` holds, failing after `timeoutMs`. */
export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
