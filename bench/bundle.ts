/**
 * The handler's bundle as the construct builds it (esbuild, minified, CJS, node22, ES module
 * builds preferred): its size, what is biggest in it, and how long loading it takes.
 */
import { handlerEnvironment } from '../lambda/contract/config';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { build } from 'esbuild';
import { HANDLER_BUNDLE } from '../lambda/contract/bundle';

const ROOT = path.join(__dirname, '..');

export async function measureBundle(): Promise<{ bytes: number; top: string; initMs: number }> {
  const outfile = path.join(mkdtempSync(path.join(tmpdir(), 'bundle-')), 'index.js');
  const result = await build({
    entryPoints: [path.join(ROOT, HANDLER_BUNDLE.entry)],
    bundle: true,
    minify: true,
    platform: 'node',
    target: HANDLER_BUNDLE.target,
    format: 'cjs',
    mainFields: [...HANDLER_BUNDLE.mainFields],
    alias: Object.fromEntries(Object.entries(HANDLER_BUNDLE.alias).map(([module, file]) => [module, path.join(ROOT, file)])),
    outfile,
    metafile: true,
    logLevel: 'silent',
  });
  const inputs = Object.values(result.metafile.outputs)[0].inputs;
  const byPackage = new Map<string, number>();
  for (const [file, { bytesInOutput }] of Object.entries(inputs)) {
    const parts = file.split('/');
    const name = parts[0] === 'node_modules' ? (parts[1].startsWith('@') ? `${parts[1]}/${parts[2]}` : parts[1]) : 'own code';
    byPackage.set(name, (byPackage.get(name) ?? 0) + bytesInOutput);
  }
  const top = [...byPackage.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 5)
    .map(([name, bytes]) => `${name} ${Math.round(bytes / 1024)} KB`)
    .join(', ');
  // Module initialisation as on a cold start: a fresh process loads the bundle with the handler's environment.
  const env = {
    ...process.env,
    // The environment the construct gives the function, so a new setting cannot be forgotten here.
    ...handlerEnvironment({
      connectionsTable: 'c',
      subscriptionsTable: 's',
      apiKeysTable: 'k',
      usageTable: 'u',
      retainedTable: 'r',
      projectsTable: 'p',
      publishesTable: 'b',
      channelsTable: 'ch',
      managementEndpoint: 'https://example.execute-api.us-east-1.amazonaws.com/production',
      accessKeySecretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:k',
      sealingSecretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:s',
    }),
    AWS_LAMBDA_FUNCTION_NAME: 'bench',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'x',
    AWS_SECRET_ACCESS_KEY: 'y',
  };
  const runs = Array.from({ length: 5 }, () =>
    Number(
      execFileSync(
        process.execPath,
        ['-e', `const t=performance.now();require(${JSON.stringify(outfile)});process.stdout.write(String(performance.now()-t))`],
        { env },
      ).toString(),
    ),
  );
  return { bytes: statSync(outfile).size, top, initMs: runs.sort((a, b) => a - b)[2] };
}
