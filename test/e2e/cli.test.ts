/**
 * `npm start` as a user runs it: a child process, its banner, the printed commands working,
 * a one-line error on a taken port, and a clean exit on Ctrl-C.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import * as path from 'node:path';
import { postJson, TestClient } from '../helpers/clients';

const ROOT = path.join(__dirname, '..', '..');

function start(env: Record<string, string>) {
  // One process (no tsx wrapper in between), so the signals the test sends reach the stack itself.
  const child = spawn(process.execPath, ['--import', 'tsx', 'local/cli.ts'], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, output: () => output };
}

async function waitForOutput(read: () => string, pattern: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = read().match(pattern);
    if (match) return match;
    if (Date.now() > deadline) throw new Error(`no ${pattern} in output:\n${read()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

let running: ChildProcess | undefined;
let client: TestClient | undefined;
afterEach(async () => {
  await client?.close();
  client = undefined;
  running?.kill('SIGKILL');
  running = undefined;
});

describe('npm start', () => {
  it('prints URLs, the key and commands that work as printed, and stops cleanly on SIGINT', async () => {
    const app = start({ HTTP_PORT: '0', WS_PORT: '0', BROADCAST_ACCESS_KEY: 'cli-test-key' });
    running = app.child;
    await waitForOutput(app.output, /Ctrl-C stops/);
    const text = app.output();
    expect(text).toContain('Access key     cli-test-key');
    const [, wsUrl] = text.match(/npx wscat -c (\S+)/)!;
    const [, broadcastUrl] = text.match(/curl -X POST (\S+)/)!;
    const [, body] = text.match(/-d '([^']+)'/)!;

    client = await TestClient.open(wsUrl);
    client.send({ action: 'subscribe', channel: 'admin' });
    await client.next((m) => m.type === 'subscription_succeeded');
    const response = await postJson(broadcastUrl, body, { Authorization: 'Bearer cli-test-key' });
    expect(response.json).toMatchObject({ success: true, sent: 1 });
    expect(await client.next((m) => m.event === 'admin_event')).toMatchObject({ channel: 'admin', data: { hello: 'world' } });

    app.child.kill('SIGINT');
    expect(await app.exited).toBe(0);
  }, 40_000);

  it('generates and prints a key when none is set', async () => {
    const app = start({ HTTP_PORT: '0', WS_PORT: '0', BROADCAST_ACCESS_KEY: '' });
    running = app.child;
    const [, key] = await waitForOutput(app.output, /Access key +([0-9a-f]{48}) +\(generated/);
    const [, url] = app.output().match(/HTTP API +(\S+)/)!;
    const response = await postJson(`${url}/broadcast`, { channel: 'a', event: 'e' }, { Authorization: `Bearer ${key}` });
    expect(response.status).toBe(200);
    app.child.kill('SIGTERM');
    expect(await app.exited).toBe(0);
  }, 40_000);

  it('exits non-zero with one line when a port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    const app = start({ HTTP_PORT: String(port), WS_PORT: '0' });
    running = app.child;
    expect(await app.exited).toBe(1);
    expect(app.output().trim()).toBe(`npm start: Port ${port} on 127.0.0.1 is already in use; set HTTP_PORT to another port`);
    await new Promise((resolve) => blocker.close(resolve));
  }, 40_000);
});
