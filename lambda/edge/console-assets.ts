/**
 * The debug console's page and script (console/page.html, console/app.js), read from disk on the
 * first request and kept: static files, not code, so they stay out of the handler's bundle (and
 * its cold start). The construct copies them beside the bundle; from the sources, they are two
 * folders up.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';

export interface ConsoleAssets {
  readonly html: { readonly plain: string; readonly gzipped: string };
  readonly js: { readonly plain: string; readonly gzipped: string };
  /** The page's one style element, as its Content-Security-Policy allows it. */
  readonly styleHash: string;
}

let loaded: ConsoleAssets | undefined;

export function consoleAssets(): ConsoleAssets {
  if (loaded) return loaded;
  const dir = [path.join(__dirname, 'console'), path.join(__dirname, '..', '..', 'console')].find((candidate) =>
    existsSync(path.join(candidate, 'page.html')),
  );
  if (!dir) throw new Error('The console files are missing from the function (console/page.html)');
  const file = (name: string) => {
    const plain = readFileSync(path.join(dir, name), 'utf8');
    return { plain, gzipped: gzipSync(plain, { level: 9 }).toString('base64') };
  };
  const html = file('page.html');
  const style = /<style>([\s\S]*?)<\/style>/.exec(html.plain)?.[1] ?? '';
  loaded = { html, js: file('app.js'), styleHash: createHash('sha256').update(style).digest('base64') };
  return loaded;
}
