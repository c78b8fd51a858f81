/**
 * The Python helpers against the local stack, run by a real Python: the stdlib publisher (with its
 * retries and idempotency keys), a token signed in Python accepted on connect, and the subscriber
 * example (websocket-client) receiving a publish. CI installs Debian's python3-websocket; without
 * it the subscriber test says it is skipped.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { useLocalStack, waitFor } from '../helpers/e2e';
import { TestClient } from '../helpers/clients';

const run = promisify(execFile);
const DIR = path.join(__dirname, '..', '..', 'clients', 'python');
const KEY = 'python-master-key';
const e2e = useLocalStack({ accessKey: KEY });

/** A Python that can import `modules`, if there is one. */
function python(...modules: string[]): string | undefined {
  for (const candidate of ['python3', '/usr/bin/python3']) {
    try {
      execFileSync(candidate, ['-c', `import ${['json', ...modules].join(', ')}`], { stdio: 'ignore' });
      return candidate;
    } catch {
      // Not this one.
    }
  }
  return undefined;
}

const py = python();
const withWebsocket = python('websocket');
const describeIfPython = py ? describe : describe.skip;

describeIfPython('the Python publisher and token signer', () => {
  it('publishes with the stdlib module: the subscriber gets it, the answer has the counts', async () => {
    const { client } = await e2e.connect();
    await e2e.subscribe(client, 'py-news');
    const { stdout } = await run(py!, [
      path.join(DIR, 'realtime_broadcast.py'),
      'publish',
      '--url',
      e2e.stack().httpUrl,
      '--key',
      KEY,
      '--channel',
      'py-news',
      '--event',
      'hello',
      '--data',
      '{"from":"python"}',
    ]);
    expect(JSON.parse(stdout)).toMatchObject({ success: true, channel: 'py-news', event: 'hello', sent: 1 });
    expect(await client.next()).toMatchObject({ channel: 'py-news', event: 'hello', data: { from: 'python' } });
  });

  it('retries nothing that cannot succeed, and names the error', async () => {
    const script = `
import sys; sys.path.insert(0, ${JSON.stringify(DIR)})
from realtime_broadcast import Publisher, PublishError
try:
    Publisher(${JSON.stringify(e2e.stack().httpUrl)}, "wrong").publish("a", "e")
except PublishError as error:
    print(error.status)
p = Publisher(${JSON.stringify(e2e.stack().httpUrl)}, ${JSON.stringify(KEY)})
first = p.publish("a", "e", idempotency_key="same")
again = p.publish("a", "e", idempotency_key="same")
print(first["id"] == again["id"])
print([r.get("code") for r in p.publish_batch([{"channel": "a", "event": "e"}, {"channel": "$x", "event": "e"}])])
`;
    const { stdout } = await run(py!, ['-c', script]);
    expect(stdout.trim().split('\n')).toEqual(['401', 'True', "[None, 'reserved_channel']"]);
  });

  it('signs client tokens the handler accepts', async () => {
    const key = await e2e.createKey('py-project');
    const { stdout } = await run(py!, [
      path.join(DIR, 'realtime_broadcast.py'),
      'token',
      '--key',
      key.apiKey,
      '--sub',
      'py-user',
      '--ttl',
      '600',
    ]);
    const client = await TestClient.open(`${e2e.stack().webSocketUrl}?token=${stdout.trim()}`);
    try {
      expect(await client.next((m) => m.type === 'connected')).toMatchObject({ projectId: 'py-project' });
    } finally {
      await client.close();
    }
  });
});

(withWebsocket ? it : it.skip)(
  `runs the subscriber example (websocket-client)${withWebsocket ? '' : ' — skipped: no Python with websocket-client (Debian: python3-websocket)'}`,
  async () => {
    const child = spawn(withWebsocket!, [path.join(DIR, 'subscriber_example.py'), e2e.stack().webSocketUrl, 'py-live', '--count', '1']);
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    await waitFor(() => output.includes('subscription_succeeded'), 10_000);
    await e2e.broadcast({ channel: 'py-live', event: 'tick', data: 1 });
    expect(await exited).toBe(0);
    const lines = output
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines.at(-1)).toMatchObject({ channel: 'py-live', event: 'tick', data: 1 });
  },
);
