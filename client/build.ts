/**
 * `npm run build:client`: the client and publisher as ESM and CommonJS, minified, with source maps
 * and type declarations, into client/dist; and the client as a classic script
 * (`realtime-client.js`, the global `RealtimeBroadcast`) for pages a browser opens from a file,
 * where modules do not load. No runtime dependencies are bundled: there are none.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { buildSync } from 'esbuild';

const ROOT = path.join(__dirname, '..');
export const CLIENT_ENTRIES = { index: 'client/src/index.ts', publisher: 'client/src/publisher.ts' };

export function buildClient(outdir = path.join(ROOT, 'client', 'dist')): void {
  for (const format of ['esm', 'cjs'] as const) {
    buildSync({
      entryPoints: Object.fromEntries(Object.entries(CLIENT_ENTRIES).map(([name, file]) => [name, path.join(ROOT, file)])),
      outdir,
      bundle: true,
      minify: true,
      sourcemap: true,
      format,
      platform: 'neutral',
      target: 'es2020',
      outExtension: { '.js': format === 'esm' ? '.mjs' : '.cjs' },
      logLevel: 'warning',
      // Loaded only on Node without a global WebSocket, from the user's own node_modules.
      external: ['ws'],
    });
  }
  // Browsers refuse ES modules on file:// pages (their origin is null); a classic script loads.
  buildSync({
    entryPoints: [path.join(ROOT, CLIENT_ENTRIES.index)],
    outfile: path.join(outdir, 'realtime-client.js'),
    bundle: true,
    minify: true,
    format: 'iife',
    globalName: 'RealtimeBroadcast',
    platform: 'browser',
    target: 'es2020',
    logLevel: 'warning',
    external: ['ws'],
  });
  execFileSync(
    process.execPath,
    [require.resolve('typescript/bin/tsc'), '-p', path.join(ROOT, 'client', 'tsconfig.json'), '--outDir', outdir],
    { stdio: 'inherit' },
  );
}

if (require.main === module) buildClient();
