/// <reference lib="dom" />
/**
 * The debug console in a real browser (Debian's chromium, driven by playwright-core) against the
 * local stack: sign in, watch a channel, a message published from outside over HTTP appears, the
 * connection count follows a client connecting, the publish form works; the live view is a table,
 * newest first, whose previews open whole; the usage chart has axes and figures with one day of
 * data as with thirty; untyped connections are labelled so; a refused key leaves the sign-in form
 * up with the reason. A screenshot is saved to
 * test-artifacts/console.png. Without a Chromium the suite says it is skipped — unless
 * REQUIRE_BROWSER=1 (CI), where that fails.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Browser, chromium as playwright, Page } from 'playwright-core';
import { documentClient } from '../../lambda/adapters/dynamo-errors';
import { DynamoUsageStore } from '../../lambda/adapters/dynamo-usage';
import { LOCAL_AWS, LOCAL_TABLES } from '../../local/store';
import { requiredChromium } from '../helpers/chromium';
import { useLocalStack } from '../helpers/e2e';

const MASTER = 'console-master-key';

const chromium = requiredChromium('Browser tests');

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

  /** A new page of the console, signed in with the master key to a project. */
  async function signedIn(projectId: string): Promise<Page> {
    const fresh = await browser.newPage();
    await fresh.goto(`${e2e.stack().httpUrl}/console`);
    await fresh.fill('#key', MASTER);
    await fresh.fill('#project', projectId);
    await fresh.click('#signin button');
    await fresh.waitForSelector('#usage rect.bar, #signin-error:not([hidden])', { state: 'attached', timeout: 10_000 });
    expect(await fresh.isVisible('#signin-error')).toBe(false);
    return fresh;
  }

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

  it('shows the live view as a table, newest first: time, channel, event, a data preview that opens whole, the kind', async () => {
    // Prepared: a console watching `ticker`, subscribed.
    const live = await signedIn('default');
    await live.fill('#watched', 'ticker');
    await live.click('#watch button');
    await live.waitForFunction(() => document.querySelector('#live')?.textContent?.includes('subscription_succeeded'), undefined, {
      timeout: 10_000,
    });
    const long = 'x'.repeat(3000);
    // Acted: two publishes, the second with data longer than any cell.
    await e2e.broadcast({ channel: 'ticker', event: 'first', data: { n: 1 } });
    await e2e.broadcast({ channel: 'ticker', event: 'second', data: { long } });
    await live.waitForFunction(() => document.querySelector('#live')?.textContent?.includes('second'), undefined, { timeout: 10_000 });
    // Assessed: the columns, and the rows newest first.
    expect(await live.$$eval('#live thead th', (cells) => cells.map((c) => c.textContent))).toEqual([
      'Time',
      'Channel',
      'Event',
      'Data',
      'Kind',
    ]);
    const rows = await live.$$eval('#live tbody tr', (trs) =>
      trs.map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => (td.querySelector('summary') ?? td).textContent)),
    );
    const time = expect.stringMatching(/^\d\d:\d\d:\d\d$/);
    expect(rows.slice(0, 2)).toEqual([
      [time, 'ticker', 'second', `{"long":"${long}"}`, 'message'],
      [time, 'ticker', 'first', '{"n":1}', 'message'],
    ]);
    // Before them, what the connection was told, each with its kind (the welcome may come before or after the first reply).
    expect(rows.slice(2).map(([, , event, , kind]) => `${event} ${kind}`)).toEqual(
      expect.arrayContaining(['subscription_succeeded reply', 'connection_id reply', 'connected notice']),
    );
    // The preview opens to the whole message, wrapped inside its section, nothing cut off.
    await live.click('#live tbody tr:nth-child(1) summary');
    const opened = await live.$eval('#live tbody tr:nth-child(1) pre', (pre) => ({
      text: pre.textContent ?? '',
      visible: pre.getBoundingClientRect().height > 0,
      overflows: pre.scrollWidth > pre.clientWidth,
      inside: pre.getBoundingClientRect().right <= (pre.closest('section')?.getBoundingClientRect().right ?? 0),
    }));
    expect(opened).toEqual({ text: expect.stringContaining(long), visible: true, overflows: false, inside: true });
    expect(JSON.parse(opened.text)).toMatchObject({ kind: 'message', channel: 'ticker', event: 'second', data: { long } });
    await live.close();
  }, 60_000);

  it('labels connections without a type as such, not "none"', async () => {
    const { client } = await e2e.connect({ type: 'runtime' });
    await page.waitForFunction(() => document.querySelector('#types')?.textContent?.includes('runtime'), undefined, { timeout: 10_000 });
    const types = await page.$$eval('#types tr', (rows) => rows.map((row) => row.querySelector('td')?.textContent));
    expect(types).toEqual(expect.arrayContaining(['(no type)', 'runtime']));
    expect(types).not.toContain('none');
    await client.close();
  }, 30_000);

  describe('the usage chart', () => {
    /** The chart's axis figures, the values written on bars, and its dates. */
    const readChart = (p: Page) =>
      p.evaluate(() => ({
        bars: document.querySelectorAll('#usage rect.bar').length,
        ticks: Array.from(document.querySelectorAll('#usage text.tick')).map((t) => t.textContent),
        values: Array.from(document.querySelectorAll('#usage text.value')).map((t) => t.textContent),
        dates: Array.from(document.querySelectorAll('#usage text.date')).map((t) => t.textContent),
        total: document.querySelector('#usage-total')?.textContent,
      }));

    it('reads with one day of data: axes with figures, dates, the day’s value on its bar', async () => {
      for (let i = 0; i < 3; i++) await e2e.broadcast({ projectId: 'chart-one', channel: 'c', event: 'e' });
      const chartPage = await signedIn('chart-one');
      const chart = await readChart(chartPage);
      const today = new Date().toISOString().slice(5, 10);
      expect(chart).toEqual({
        bars: 30,
        ticks: ['0', '2', '4'],
        values: ['3'],
        dates: expect.arrayContaining([today]),
        total: '3 requests and 0 deliveries in 30 days',
      });
      await chartPage.close();
    }, 30_000);

    it('reads with thirty days of data: the same axes, a figure on every bar', async () => {
      // Thirty days of usage, written through the product's own store as the handler writes it.
      const usage = new DynamoUsageStore(documentClient({ ...LOCAL_AWS, endpoint: e2e.stack().dynamoEndpoint }), LOCAL_TABLES.usage.name);
      const day = 24 * 60 * 60 * 1000;
      for (let ago = 0; ago < 30; ago++) await usage.record('chart-thirty', { requests: 30 - ago, deliveries: 1 }, Date.now() - ago * day);
      const chartPage = await signedIn('chart-thirty');
      const chart = await readChart(chartPage);
      expect(chart).toEqual({
        bars: 30,
        ticks: ['0', '20', '40'],
        values: Array.from({ length: 30 }, (_, i) => String(i + 1)),
        dates: expect.arrayContaining([new Date(Date.now() - 29 * day).toISOString().slice(5, 10), new Date().toISOString().slice(5, 10)]),
        total: '465 requests and 30 deliveries in 30 days',
      });
      await chartPage.close();
    }, 30_000);
  });

  it('keeps the sign-in form up after a refused key, with the reason under it', async () => {
    const fresh = await browser.newPage();
    await fresh.goto(`${e2e.stack().httpUrl}/console`);
    await fresh.fill('#key', 'not-the-key');
    await fresh.click('#signin button');
    await fresh.waitForSelector('#signin-error:not([hidden])', { timeout: 10_000 });
    expect(await fresh.textContent('#signin-error')).toBe(
      'Not signed in: 401 unauthorized: Unknown key: the key in Authorization: Bearer <key> is neither the master key nor a current project key (rbk_…)',
    );
    expect(await fresh.isVisible('#signin')).toBe(true);
    expect(await fresh.isVisible('#app')).toBe(false);
    // The right key then signs in.
    await fresh.fill('#key', MASTER);
    await fresh.click('#signin button');
    await fresh.waitForSelector('#app:not([hidden])');
    expect(await fresh.isVisible('#signin-error')).toBe(false);
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
