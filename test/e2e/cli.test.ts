/**
 * `npm start` as a user runs it: a child process, its banner, the printed commands working,
 * a one-line error on a taken port, and a clean exit on Ctrl-C.
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import * as path from 'node:path';
import { LocalStack, startLocalStack } from '../../local/stack';
import { postJson, TestClient } from '../helpers/clients';

const ROOT = path.join(__dirname, '..', '..');

function start(env: Record<string, string>) {
  // One process (no tsx wrapper in between), so the signals the test sends reach the stack itself.
  const child = spawn(process.execPath, ['--import', 'tsx', 'local/cli.ts'], {
    cwd: ROOT,
    // Any free port for the Pusher endpoint unless a test names one: 3002 may be taken where tests run.
    env: { ...process.env, PUSHER_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
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
    expect(text).toMatch(/IAM +enforced: the handler's calls are checked against its role's \d+ policy statements from the construct/);
    expect(text).toMatch(/Lifecycle +events written to \S+lifecycle-events\.jsonl/);
    expect(text).toMatch(/Namespaces +no defaults/);
    const [, consoleUrl] = text.match(/Console +(\S+)/)!;
    expect((await fetch(consoleUrl)).status).toBe(200);
    // The variables line, pasted into a shell, names what the banner shows.
    const [variables] = text.match(/^ *export URL=.*$/m)!;
    const [, httpUrl] = text.match(/HTTP API +(\S+)/)!;
    const [, wsUrl] = text.match(/WebSocket API +(\S+)/)!;
    expect(
      execFileSync('bash', ['-c', `${variables}; echo "$URL $WS $KEY"`])
        .toString()
        .trim(),
    ).toBe(`${httpUrl} ${wsUrl} cli-test-key`);
    expect(text).toContain('npx wscat -c "$WS"');
    // The Pusher endpoint's URL and the pusher-js options to paste name the same port, which runs the function.
    const [, pusherUrl] = text.match(/Pusher +(ws:\/\/127\.0\.0\.1:\d+)\/app\/<app key>/)!;
    expect(text).toContain(
      `new Pusher('<app key>', { cluster: 'mt1', wsHost: '127.0.0.1', wsPort: ${new URL(pusherUrl).port}, forceTLS: false, enabledTransports: ['ws'] })`,
    );
    expect((await fetch(`${pusherUrl.replace('ws:', 'http:')}/nowhere`)).status).toBe(404);

    client = await TestClient.open(wsUrl);
    client.send({ action: 'subscribe', channel: 'admin' });
    await client.next((m) => m.type === 'subscription_succeeded');
    // The printed curl, run as printed after the variables line.
    const curl = text.slice(text.indexOf('curl -X POST')).split('\n\n')[0];
    const response = JSON.parse(execFileSync('bash', ['-c', `${variables}; ${curl.replace('curl', 'curl -s')}`]).toString());
    expect(response).toMatchObject({ success: true, sent: 1 });
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

  it('names PUSHER_PORT when the Pusher endpoint’s port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    const app = start({ HTTP_PORT: '0', WS_PORT: '0', PUSHER_PORT: String(port) });
    running = app.child;
    expect(await app.exited).toBe(1);
    expect(app.output().trim()).toBe(`npm start: Port ${port} on 127.0.0.1 is already in use; set PUSHER_PORT to another port`);
    await new Promise((resolve) => blocker.close(resolve));
  }, 40_000);
});

describe('npm start with IAM_ENFORCEMENT', () => {
  it('says in its banner when IAM is off, and still works', async () => {
    const app = start({ HTTP_PORT: '0', WS_PORT: '0', BROADCAST_ACCESS_KEY: 'cli-test-key', IAM_ENFORCEMENT: 'off' });
    running = app.child;
    await waitForOutput(app.output, /Ctrl-C stops/);
    expect(app.output()).toMatch(/IAM +not enforced \(IAM_ENFORCEMENT=off\)/);
    const [, url] = app.output().match(/HTTP API +(\S+)/)!;
    expect((await postJson(`${url}/broadcast`, { channel: 'a', event: 'e' }, { Authorization: 'Bearer cli-test-key' })).status).toBe(200);
    app.child.kill('SIGTERM');
    expect(await app.exited).toBe(0);
  }, 40_000);

  it('refuses a value other than on or off with one line', async () => {
    const app = start({ HTTP_PORT: '0', WS_PORT: '0', IAM_ENFORCEMENT: 'maybe' });
    running = app.child;
    expect(await app.exited).toBe(1);
    expect(app.output().trim()).toBe('npm start: IAM_ENFORCEMENT must be on or off, got "maybe"');
  }, 40_000);
});

describe('npm start with REQUIRE_TOKEN=true', () => {
  it('refuses anonymous clients, even in default, and says so in its banner', async () => {
    const app = start({ HTTP_PORT: '0', WS_PORT: '0', BROADCAST_ACCESS_KEY: 'cli-test-key', REQUIRE_TOKEN: 'true' });
    running = app.child;
    await waitForOutput(app.output, /Ctrl-C stops/);
    expect(app.output()).toMatch(/Anonymous +refused everywhere \(REQUIRE_TOKEN=true\)/);
    const [, wsUrl] = app.output().match(/WebSocket API +(\S+)/)!;
    await expect(TestClient.open(wsUrl)).rejects.toMatchObject({ statusCode: 401 });
    app.child.kill('SIGTERM');
    expect(await app.exited).toBe(0);
  }, 40_000);
});

describe('npm run token', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startLocalStack({ accessKey: 'token-cli-master' });
  });
  afterAll(() => stack.stop());

  function token(args: string[], env: Record<string, string>) {
    return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'local/token.ts', ...args], {
        cwd: ROOT,
        env: { ...process.env, BROADCAST_HTTP_URL: stack.httpUrl, ...env },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk) => (stdout += chunk));
      child.stderr.on('data', (chunk) => (stderr += chunk));
      child.on('exit', (code) => resolve({ code, stdout, stderr }));
    });
  }

  it('prints a token the stack accepts, with the grants asked for', async () => {
    const created = await postJson(`${stack.httpUrl}/api-keys`, { projectId: 'cli-p' }, { Authorization: 'Bearer token-cli-master' });
    const printed = await token(['--project', 'cli-p', '--sub', 'alice', '--ttl', '600', '--channels', 'private-*'], {
      PROJECT_API_KEY: created.json.data.apiKey,
    });
    expect(printed).toMatchObject({ code: 0, stderr: '' });
    const client = await TestClient.open(`${stack.webSocketUrl}?token=${printed.stdout.trim()}`);
    client.send({ action: 'subscribe', channel: 'private-alice' });
    expect(await client.next((m) => m.type === 'subscription_succeeded')).toEqual({
      kind: 'reply',
      type: 'subscription_succeeded',
      channel: 'private-alice',
    });
    await client.close();
  }, 40_000);

  it('refuses a lifetime over the project’s maximum, and a key of another project, with a clear message', async () => {
    const created = await postJson(`${stack.httpUrl}/api-keys`, { projectId: 'cli-q' }, { Authorization: 'Bearer token-cli-master' });
    const apiKey = created.json.data.apiKey;
    const long = await token(['--project', 'cli-q', '--sub', 'a', '--ttl', '90000'], { PROJECT_API_KEY: apiKey });
    expect(long).toEqual({
      code: 2,
      stdout: '',
      stderr: expect.stringContaining("--ttl 90000 is over project cli-q's maximum token lifetime (86400 s)"),
    });
    const elsewhere = await token(['--project', 'cli-p', '--sub', 'a'], { PROJECT_API_KEY: apiKey });
    expect(elsewhere).toMatchObject({ code: 2, stderr: expect.stringContaining('is not a current key of project cli-p') });
    const usage = await token(['--sub', 'a'], { PROJECT_API_KEY: apiKey });
    expect(usage).toMatchObject({ code: 2, stderr: expect.stringContaining('usage:') });
  }, 40_000);

  it('refuses the master key: tokens are signed with a project key, and it says how to create one', async () => {
    const printed = await token(['--project', 'acme', '--sub', 'alice'], { PROJECT_API_KEY: 'token-cli-master' });
    expect(printed).toEqual({
      code: 2,
      stdout: '',
      stderr: expect.stringContaining('tokens are signed with a project key (rbk_…), never the master key'),
    });
    expect(printed.stderr).toContain(`curl -X POST "$URL/api-keys" -H "Authorization: Bearer $KEY" -d '{"projectId":"acme"}'`);
  }, 40_000);
});
