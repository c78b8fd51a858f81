/// <reference lib="dom" />
/**
 * The debug console in a real browser (Debian's chromium, driven by playwright-core) against the
 * local stack: sign in, watch a channel, a message published from outside over HTTP appears, the
 * connection count follows a client connecting, the publish form works; a screenshot is saved to
 * test-artifacts/console.png. Without a Chromium the suite says it is skipped — unless
 * REQUIRE_BROWSER=1 (CI), where that fails.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Browser, chromium as playwright, Page } from 'playwright-core';
import { useLocalStack } from '../helpers/e2e';

const MASTER = 'console-master-key';

function findChromium(): string | undefined {
  for (const candidate of [process.env.CHROMIUM_PATH, 'chromium', 'chromium-browser', 'google-chrome']) {
    if (!candidate) continue;
    try {
      return (
        execFileSync('sh', ['-c', `command -v ${candidate}`])
          .toString()
          .trim() || undefined
      );
    } catch {
      // Not installed under this name.
    }
  }
  return undefined;
}

const chromium = findChromium();
if (!chromium && process.env.REQUIRE_BROWSER === '1')
  throw new Error('REQUIRE_BROWSER=1 but no Chromium was found (install Debian’s chromium, or set CHROMIUM_PATH)');
if (!chromium) console.log('Browser tests skipped: no Chromium found (install Debian’s chromium, or set CHROMIUM_PATH)');

const e2e = useLocalStack({ accessKey: MASTER });

(chromium ? describe : describe.skip)('the debug console in Chromium', () => {
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  const requests: string[] = [];

  beforeAll(async () => {
    browser = await playwright.launch({ executablePath: chromium, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
    page = await browser.newPage();
    page.on('pageerror', (error) => pageErrors.push(String(error)));
    page.on('console', (message) => message.type() === 'error' && pageErrors.push(message.text()));
    page.on('request', (request) => void requests.push(request.url()));
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });

  const text = (selector: string) => page.textContent(selector).then((t) => t ?? '');

  it('signs in, watches a channel, shows a message published over HTTP and the connection count changing', async () => {
    const response = await page.goto(`${e2e.stack().httpUrl}/console`);
    expect(response!.status()).toBe(200);
    expect(response!.headers()['content-security-policy']).toMatch(/default-src 'none'; script-src 'self'/);
    await page.fill('#key', MASTER);
    await page.click('#signin button');
    await page.waitForSelector('#app:not([hidden])');
    const before = Number(await text('#total'));

    await page.fill('#watched', 'news');
    await page.click('#watch button');
    await page.waitForFunction(() => document.querySelector('#live-state')?.textContent === 'watching news', undefined, {
      timeout: 10_000,
    });
    // The console's own connection shows up in the count.
    await page.waitForFunction((n) => Number(document.querySelector('#total')?.textContent) > n, before, { timeout: 10_000 });

    await e2e.broadcast({ channel: 'news', event: 'from-outside', data: { n: 42 } });
    await page.waitForFunction(() => document.querySelector('#live')?.textContent?.includes('from-outside'), undefined, {
      timeout: 10_000,
    });

    const counted = Number(await text('#total'));
    const { client } = await e2e.connect();
    await page.waitForFunction((n) => Number(document.querySelector('#total')?.textContent) === n + 1, counted, { timeout: 10_000 });
    await client.close();

    // The form publishes too; the live view sees it.
    await page.fill('#pchannel', 'news');
    await page.click('#publish button');
    await page.waitForFunction(() => document.querySelector('#published')?.textContent?.startsWith('sent to'), undefined, {
      timeout: 10_000,
    });
    await page.waitForFunction(() => document.querySelector('#live')?.textContent?.includes('"console"'), undefined, { timeout: 10_000 });
    // The usage chart is drawn.
    expect(await page.$('#usage svg rect')).not.toBeNull();

    const artifacts = path.join(__dirname, '..', '..', 'test-artifacts');
    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: path.join(artifacts, 'console.png'), fullPage: true });

    expect(pageErrors).toEqual([]);
    // Nothing but this API and its WebSocket stage.
    const origins = new Set(requests.map((url) => new URL(url).origin));
    expect([...origins].every((origin) => origin === e2e.stack().httpUrl)).toBe(true);
    // The key never lands in the page's storage.
    expect(
      await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie),
    ).not.toContain(MASTER);
  }, 60_000);

  it('shows a refused key as an error, and nothing of the project', async () => {
    const fresh = await browser.newPage();
    await fresh.goto(`${e2e.stack().httpUrl}/console`);
    await fresh.fill('#key', 'not-the-key');
    await fresh.click('#signin button');
    await fresh.waitForFunction(() => document.querySelector('#errors')?.textContent?.includes('401 unauthorized'), undefined, {
      timeout: 10_000,
    });
    expect(await fresh.textContent('#total')).toBe('0');
    await fresh.close();
  }, 30_000);
});

it('serves the page and its script to anyone, and the live view’s token only for a key', async () => {
  const page = await fetch(`${e2e.stack().httpUrl}/console`);
  expect(page.headers.get('content-type')).toMatch(/^text\/html/);
  const html = await page.text();
  // No CDN: no script, style or image from elsewhere.
  expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)="https?:/);
  console.log(
    `console page: ${Buffer.byteLength(html)} bytes of HTML + ${Buffer.byteLength(await (await fetch(`${e2e.stack().httpUrl}/console/app.js`)).text())} bytes of script`,
  );
  const refused = await fetch(`${e2e.stack().httpUrl}/console/token`, { method: 'POST', body: '{}' });
  expect(refused.status).toBe(401);
  const granted = await fetch(`${e2e.stack().httpUrl}/console/token`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${MASTER}` },
    body: JSON.stringify({ projectId: 'default' }),
  });
  expect((await granted.json()).data).toEqual({
    projectId: 'default',
    webSocketUrl: e2e.stack().webSocketUrl,
    token: null,
    expiresIn: null,
  });
});
