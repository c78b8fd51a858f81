/**
 * `npm run build` (and `npm pack`, through `prepack`): the package an app installs to use the
 * construct without this repository's sources or esbuild —
 * - dist/lib and dist/lambda/contract: the construct compiled to CommonJS, with type declarations,
 *   and the Pusher endpoint's CloudFront Function beside it (plain JavaScript, read at synth);
 * - dist/handler: the handler bundled as the construct would bundle it (minified, source map), with
 *   the console's files beside it: the function's asset when the construct runs from the package;
 * - dist/client: the client and publisher (ESM, CommonJS, types).
 */
import { execFileSync } from 'node:child_process';
import { cpSync, rmSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { buildSync } from 'esbuild';
import { buildClient } from '../client/build';
import { HANDLER_BUNDLE } from '../lambda/contract/bundle';

const ROOT = path.join(__dirname, '..');
const DIST = path.join(ROOT, 'dist');

export function buildPackage(): { handlerBytes: number } {
  rmSync(DIST, { recursive: true, force: true });
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(ROOT, 'tsconfig.package.json')], {
    stdio: 'inherit',
  });
  // tsc compiles TypeScript only: the function the construct reads at synth is copied as it is.
  cpSync(path.join(ROOT, 'lib', 'pusher-endpoint', 'viewer-request.js'), path.join(DIST, 'lib', 'pusher-endpoint', 'viewer-request.js'));
  const handlerDir = path.join(DIST, 'handler');
  buildSync({
    entryPoints: [path.join(ROOT, HANDLER_BUNDLE.entry)],
    outfile: path.join(handlerDir, 'index.js'),
    bundle: true,
    minify: true,
    sourcemap: true,
    platform: 'node',
    target: HANDLER_BUNDLE.target,
    format: 'cjs',
    mainFields: [...HANDLER_BUNDLE.mainFields],
    alias: Object.fromEntries(Object.entries(HANDLER_BUNDLE.alias).map(([module, file]) => [module, path.join(ROOT, file)])),
    logLevel: 'warning',
  });
  cpSync(path.join(ROOT, 'console'), path.join(handlerDir, 'console'), { recursive: true });
  buildClient(path.join(DIST, 'client'));
  return { handlerBytes: statSync(path.join(handlerDir, 'index.js')).size };
}

if (require.main === module) {
  const { handlerBytes } = buildPackage();
  console.log(`dist/ built; handler bundle ${handlerBytes.toLocaleString('en')} bytes`);
}
