/**
 * The docs' examples, run as a newcomer runs them: each page's marked blocks, top to bottom,
 * against a fresh local stack, so an example that stops working fails `npm test`.
 *
 * Each page gets its own stack and one bash session (one terminal), with the variables `npm start`
 * prints (`URL`, `WS`, `KEY`) exported; pages under docs/ also get `ACME_KEY`, the key of project
 * `acme` the README has a newcomer create. Marked blocks (the info string after the fence):
 *
 * - `sh test`: pasted into the session. `curl` runs as in a terminal (no progress meter: a
 *   `.curlrc` says `--silent --show-error`). A line `export NAME=prefix…` is a paste of a value
 *   shown above: it gets the newest earlier output's word that starts with `prefix` (the JSON
 *   field's value, where the line's comment names a field: `# the "apiKey" above`).
 * - `text output`, right after a `sh test` block: what the block prints. Lines match in order;
 *   `…` stands for any text within a line, and a line holding only `…` for any lines.
 * - `wscat test`: a wscat session. `$ npx wscat -c <url>` opens one (the url expanded by the
 *   session's shell); `> frame` sends; `< message` is the next message received;
 *   (`"field":"…"` in a frame: that field's value as last received, pasted);
 *   `Connected (press CTRL+C to quit)` and `error: Unexpected server response: N` are what wscat
 *   prints on opening or refusal. A block without `$ npx wscat` continues the last session, or the
 *   one its first line names (`# agent`; a session opened under such a line takes that name).
 * - `html test`: a page opened from a file in Chromium (`ws://127.0.0.1:3001/production` in it
 *   is the stack's WebSocket URL), beside a fresh `client/dist`; `text page` blocks: lines the
 *   page shows, in order.
 *
 * It also checks that every `json` block parses, that no unmarked shell block uses the local
 * stack's variables (such an example would go untested), and that every link and anchor
 * between README.md and docs/ resolves.
 */
import { ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Browser, chromium as playwright, Page } from 'playwright-core';
import { WebSocket } from 'ws';
import { buildClient } from '../../client/build';
import { LocalStack, startLocalStack } from '../../local/stack';
import { requiredChromium } from '../helpers/chromium';

const ROOT = path.join(__dirname, '..', '..');
const PAGES = ['README.md', ...readdirSync(path.join(ROOT, 'docs')).map((name) => `docs/${name}`)].filter((p) => p.endsWith('.md'));
const MASTER = 'docs-examples-master-key';
/** What the docs write for the local stack's WebSocket URL where no variable can stand (a page's HTML). */
const DOCUMENTED_WS = 'ws://127.0.0.1:3001/production';
/** The Pusher endpoint's port as the docs give it (`wsPort: 3002`), replaced by the stack's. */
const DOCUMENTED_PUSHER_PORT = 'wsPort: 3002';

interface Block {
  readonly page: string;
  readonly line: number;
  readonly info: string;
  readonly code: string;
}

/** The fenced blocks of a Markdown page, with their info strings and where they start. */
function blocksOf(page: string): Block[] {
  const lines = readFileSync(path.join(ROOT, page), 'utf8').split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(.*)$/.exec(lines[i]);
    if (!open) continue;
    const end = lines.findIndex((line, j) => j > i && line === '```');
    if (end < 0) throw new Error(`${page}:${i + 1}: a fence that never closes`);
    blocks.push({ page, line: i + 1, info: open[1].trim(), code: lines.slice(i + 1, end).join('\n') });
    i = end;
  }
  return blocks;
}

const where = (block: Block) => `${block.page}:${block.line}`;
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Expected lines as one pattern: in order, `…` any text in a line, a `…` line any lines. */
function expectation(lines: string[]): RegExp {
  const parts = lines
    .map((line) => line.trimEnd())
    .filter((line) => line.trim() !== '')
    .map((line) => (line.trim() === '…' ? '[\\s\\S]*?' : line.split('…').map(escape).join('.*?')));
  return new RegExp(`^\\s*${parts.join('\\s*')}\\s*$`);
}

/** One terminal: a bash whose blocks run in turn, each block's output (stdout and stderr) read back. */
class Terminal {
  private readonly bash: ChildProcessWithoutNullStreams;
  private buffer = '';
  private blocks = 0;
  readonly outputs: string[] = [];

  constructor(env: Record<string, string>, curlHome: string) {
    this.bash = spawn('bash', ['--noprofile', '--norc'], { cwd: ROOT, env: { ...process.env, ...env, CURL_HOME: curlHome } });
    this.bash.stdout.on('data', (chunk: Buffer) => (this.buffer += chunk.toString()));
    this.bash.stderr.on('data', (chunk: Buffer) => (this.buffer += chunk.toString()));
  }

  /** Pastes `code` and waits for the prompt: what it printed. */
  async run(code: string, timeoutMs = 30_000): Promise<string> {
    const sentinel = `__docs_block_${++this.blocks}__`;
    this.buffer = '';
    this.bash.stdin.write(`{\n${code}\n} 2>&1\nprintf '\\n%s\\n' ${sentinel}\n`);
    const deadline = Date.now() + timeoutMs;
    while (!this.buffer.includes(`${sentinel}\n`)) {
      if (Date.now() > deadline) throw new Error(`still running after ${timeoutMs} ms; printed so far:\n${this.buffer}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const output = this.buffer.slice(0, this.buffer.indexOf(`${sentinel}\n`)).replace(/\r\n/g, '\n');
    this.outputs.push(output);
    return output;
  }

  /** A word as the session's shell expands it (`"$WS?token=$TOKEN"`). */
  async expand(words: string): Promise<string> {
    return (await this.run(`printf '%s' ${words}`)).replace(/\n$/, '');
  }

  /**
   * A pasted value: from the newest earlier output, the word starting with `prefix` — the value of
   * the JSON field `field` where the line names one (`# the "apiKey" above`).
   */
  pasted(prefix: string, field?: string): string {
    const pattern = field ? new RegExp(`"${escape(field)}":"(${escape(prefix)}[^"]*)"`) : new RegExp(`(${escape(prefix)}[^\\s"',}]+)`);
    for (const output of [...this.outputs].reverse()) {
      const found = pattern.exec(output);
      if (found) return found[1];
    }
    throw new Error(`nothing printed earlier starts with ${prefix}${field ? ` as "${field}"` : ''}`);
  }

  close(): void {
    this.bash.stdin.end();
    this.bash.kill();
  }
}

/** A wscat session as wscat shows it: what it prints, and messages received in order. */
class WscatSession {
  readonly received: string[] = [];
  private readonly waiters: (() => void)[] = [];
  private consumed = 0;
  readonly opened: Promise<{ ok: true } | { ok: false; status: number }>;
  private socket?: WebSocket;

  constructor(
    url: string,
    readonly name?: string,
  ) {
    this.opened = new Promise((resolve) => {
      const socket = new WebSocket(url);
      socket.on('message', (data: Buffer) => {
        this.received.push(data.toString());
        this.waiters.splice(0).forEach((wake) => wake());
      });
      socket.once('open', () => {
        this.socket = socket;
        resolve({ ok: true });
      });
      socket.once('unexpected-response', (_req, res) => resolve({ ok: false, status: res.statusCode ?? 0 }));
      socket.on('error', () => undefined);
    });
  }

  send(frame: string): void {
    if (!this.socket) throw new Error('not connected');
    this.socket.send(frame);
  }

  /** The next message received, in order. */
  async next(timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length <= this.consumed) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no message came; received so far:\n${this.received.join('\n')}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.received[this.consumed++];
  }

  close(): void {
    this.socket?.terminate();
  }
}

/** The newest value of a string field in any message a wscat session received: what a user pastes. */
function lastReceived(sessions: readonly WscatSession[], field: string): string {
  const values = sessions.flatMap((session) =>
    session.received.flatMap((raw) => [...raw.matchAll(new RegExp(`"${field}":"([^"]*)"`, 'g'))].map((m) => m[1])),
  );
  if (values.length === 0) throw new Error(`no message received so far has a "${field}" to paste`);
  return values[values.length - 1];
}

const chromium = requiredChromium('The docs’ browser examples');

/** Runs a page's marked blocks against its own stack. */
async function runPage(page: string): Promise<number> {
  const blocks = blocksOf(page);
  // As `npm start`: lifecycle events on (written to a temporary file), so webhooks may be set.
  const stack: LocalStack = await startLocalStack({ accessKey: MASTER });
  const scratch = mkdtempSync(path.join(tmpdir(), 'docs-examples-'));
  writeFileSync(path.join(scratch, '.curlrc'), 'silent\nshow-error\n');
  const env: Record<string, string> = { URL: stack.httpUrl, WS: stack.webSocketUrl, KEY: MASTER };
  const terminal = new Terminal(env, scratch);
  const sessions: WscatSession[] = [];
  let browser: Browser | undefined;
  let browserPage: Page | undefined;
  let ran = 0;
  try {
    if (page.startsWith('docs/')) {
      // What the README's "first keyed project" leaves a newcomer with.
      await terminal.run(
        `export ACME_KEY=$(curl -s -X POST "$URL/api-keys" -H "Authorization: Bearer $KEY" -d '{"projectId":"acme"}' | sed -E 's/.*"apiKey":"([^"]+)".*/\\1/')`,
      );
    }
    let lastShell: { block: Block; output: string } | undefined;
    for (const block of blocks) {
      const [language, mark] = block.info.split(/\s+/);
      const fail = (what: string): never => {
        throw new Error(`${where(block)}: ${what}`);
      };
      if (mark === 'test' && (language === 'sh' || language === 'bash')) {
        // A pasted value: `export NAME=prefix…` takes what was shown above.
        const code = block.code.replace(
          /^export (\w+)=(\S*)…(.*)$/gm,
          (_, name: string, prefix: string, rest: string) => `export ${name}=${terminal.pasted(prefix, /"(\w+)"/.exec(rest)?.[1])}${rest}`,
        );
        lastShell = { block, output: await terminal.run(code) };
        ran++;
      } else if (language === 'text' && mark === 'output') {
        if (!lastShell) fail('an output block with no shell block before it');
        const expected = expectation(block.code.split('\n'));
        if (!expected.test(lastShell!.output)) {
          fail(`the block at ${where(lastShell!.block)} printed:\n${lastShell!.output}\nwhich does not match:\n${block.code}`);
        }
        lastShell = undefined;
      } else if (language === 'wscat' && mark === 'test') {
        ran++;
        // `# name` first: the window this block shows (a session it opens is named so); else the last one.
        const named = /^# (.+)$/.exec(block.code.split('\n')[0])?.[1];
        let current = named !== undefined ? sessions.find((session) => session.name === named) : sessions[sessions.length - 1];
        for (const line of block.code.split('\n')) {
          const opening = /^\$ npx wscat -c (.+)$/.exec(line);
          if (opening) {
            current = new WscatSession(await terminal.expand(opening[1]), named);
            sessions.push(current);
          } else if (line.startsWith('#')) {
            continue;
          } else if (!current) {
            fail('no wscat session is open here');
          } else if (line === 'Connected (press CTRL+C to quit)') {
            const opened = await current.opened;
            if (!opened.ok) fail(`wscat was refused (${opened.status}), not connected`);
          } else if (line.startsWith('error: Unexpected server response: ')) {
            const opened = await current.opened;
            if (opened.ok || `error: Unexpected server response: ${opened.status}` !== line) fail(`expected "${line}"`);
          } else if (line.startsWith('> ')) {
            await current.opened;
            // `"field":"…"` in a frame is a paste of that field's value from a message received before.
            current.send(line.slice(2).replace(/"(\w+)":"…"/g, (_, field: string) => `"${field}":"${lastReceived(sessions, field)}"`));
          } else if (line.startsWith('< ')) {
            const message = await current.next();
            if (!expectation([line.slice(2)]).test(message)) fail(`wscat received:\n${message}\nnot:\n${line.slice(2)}`);
          } else if (line.trim() !== '') {
            fail(`a wscat line this test does not know: ${line}`);
          }
        }
      } else if (language === 'html' && mark === 'test') {
        if (!chromium) continue;
        ran++;
        buildClient(path.join(scratch, 'client', 'dist'));
        const file = path.join(scratch, 'hello.html');
        // A page in the repository's folder finds pusher-js's browser build under node_modules.
        if (!existsSync(path.join(scratch, 'node_modules'))) symlinkSync(path.resolve('node_modules'), path.join(scratch, 'node_modules'));
        writeFileSync(
          file,
          block.code.split(DOCUMENTED_WS).join(stack.webSocketUrl).split(DOCUMENTED_PUSHER_PORT).join(`wsPort: ${stack.pusherPort}`),
        );
        browser ??= await playwright.launch({
          executablePath: chromium,
          headless: true,
          args: ['--no-sandbox', '--disable-dev-shm-usage'],
        });
        browserPage = await browser.newPage();
        const errors: string[] = [];
        browserPage.on('pageerror', (error) => errors.push(String(error)));
        await browserPage.goto(`file://${file}`);
        if (errors.length > 0) fail(`the page threw: ${errors.join('; ')}`);
      } else if (language === 'text' && mark === 'page') {
        if (!chromium) continue;
        if (!browserPage) fail('a page block with no html block before it');
        const expected = expectation(['…', ...block.code.split('\n'), '…']);
        const deadline = Date.now() + 10_000;
        let shown = '';
        while (!expected.test((shown = await browserPage!.innerText('body')))) {
          if (Date.now() > deadline) fail(`the page shows:\n${shown}\nnot:\n${block.code}`);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
    }
    expect(stack.deniedCalls()).toBe(0);
    return ran;
  } finally {
    sessions.forEach((session) => session.close());
    terminal.close();
    await browser?.close();
    await stack.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}

describe('the docs’ examples, run against the local stack', () => {
  const counts: Record<string, number> = {};
  afterAll(() => console.log(`docs examples run: ${JSON.stringify(counts)}`));

  it.each(PAGES)(
    '%s: every marked example works as written',
    async (page) => {
      counts[page] = await runPage(page);
    },
    180_000,
  );
});

describe('the docs’ code blocks', () => {
  const blocks = PAGES.flatMap(blocksOf);

  it('hold valid JSON where they say json', () => {
    const bad = blocks
      .filter((block) => block.info.startsWith('json'))
      .filter((block) => {
        try {
          JSON.parse(block.code);
          return false;
        } catch {
          return true;
        }
      });
    expect(bad.map(where)).toEqual([]);
  });

  it('run every shell example that uses the local stack (marked `sh test`)', () => {
    const untested = blocks.filter(
      (block) => /^(sh|bash)$/.test(block.info) && /\$\{?(URL|WS|KEY|ACME_KEY|TOKEN)\b|npm (run|start)|127\.0\.0\.1/.test(block.code),
    );
    expect(untested.map(where)).toEqual([]);
  });
});

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens; repeats get -1, -2, …. */
function anchorsOf(page: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  let fenced = false;
  for (const line of readFileSync(path.join(ROOT, page), 'utf8').split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const heading = !fenced && /^#{1,6} (.+)$/.exec(line);
    if (!heading) continue;
    const slug = heading[1]
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\- _]/gu, '')
      .replace(/ /g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

describe('links in README.md and docs/', () => {
  it.each(PAGES)('%s: every relative link and anchor resolves', (page) => {
    const text = readFileSync(path.join(ROOT, page), 'utf8').replace(/^```[\s\S]*?^```$/gm, '');
    const broken: string[] = [];
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target)) continue;
      const [file, anchor] = target.split('#');
      const resolved = file === '' ? page : path.normalize(path.join(path.dirname(page), file));
      if (!existsSync(path.join(ROOT, resolved))) broken.push(`${target} (no file ${resolved})`);
      else if (anchor !== undefined && (!resolved.endsWith('.md') || !anchorsOf(resolved).has(anchor))) {
        broken.push(`${target} (no heading #${anchor} in ${resolved})`);
      }
    }
    expect(broken).toEqual([]);
  });
});
