/**
 * The local stack for end-to-end tests: `useLocalStack()` at the top of a test file starts it
 * before the tests, closes every client after each test and stops it after all, and gives the
 * ways in — real WebSocket clients and real HTTP.
 */
import { LocalStack, LocalStackOptions, startLocalStack } from '../../local/stack';
import { postJson, TestClient } from './clients';

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
  afterAll(() => stack?.stop());

  /** Opens a connection and takes its `connected` system message, so a test sees only what follows. */
  async function connect(query: string | Record<string, string> = '', headers?: Record<string, string>) {
    const search = typeof query === 'string' ? query : `?${new URLSearchParams(query)}`;
    const client = await TestClient.open(`${stack!.webSocketUrl}${search}`, { headers });
    clients.push(client);
    const connected = await client.next<{ clientId: string; clientCount: number; projectId: string }>((m) => m.type === 'connected');
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
    expect(hello).toEqual({ type: 'connection_id', connection_id: expect.any(String) });
    expect(await client.next()).toEqual({ type: 'subscription_succeeded', channel });
    return { client, id: hello.connection_id };
  }

  return {
    stack: () => stack!,
    handlerErrors,
    connect,
    subscribe,
    subscriber,
    /** `POST /broadcast` with a bearer key. */
    broadcast: (body: unknown, key = options.accessKey) => postJson(`${stack!.httpUrl}/broadcast`, body, { Authorization: `Bearer ${key}` }),
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
