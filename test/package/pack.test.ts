/**
 * The construct as a library: `npm pack` makes a package that a fresh CDK app — with nothing but
 * aws-cdk-lib, constructs and the tarball, no esbuild, none of this repository's sources —
 * installs and synthesizes. The template has the routes, tables, function (the shipped bundle as
 * its asset, the console's files and the namespace defaults beside it), the Pusher endpoint's
 * CloudFront Function (shipped beside the compiled construct) and outputs; the client and publisher
 * entries resolve.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { HTTP_ROUTE_KEYS, WEBSOCKET_ROUTE_KEYS } from '../../lambda/contract/routes';

const ROOT = path.join(__dirname, '..', '..');
const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version: string }> };
const version = (name: string) => lock.packages[`node_modules/${name}`].version;

const work = mkdtempSync(path.join(tmpdir(), 'pack-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

it('packs, installs into a fresh CDK app without esbuild or sources, and synthesizes', () => {
  const tarball = execFileSync('npm', ['pack', '--silent', '--pack-destination', work], { cwd: ROOT, encoding: 'utf8' })
    .trim()
    .split('\n')
    .at(-1)!;
  const packed = path.join(work, tarball);
  console.log(`package: ${statSync(packed).size.toLocaleString('en')} bytes packed`);

  const app = path.join(work, 'app');
  execFileSync('mkdir', ['-p', app]);
  writeFileSync(
    path.join(app, 'package.json'),
    JSON.stringify({
      name: 'consumer',
      private: true,
      dependencies: { 'aws-cdk-lib': version('aws-cdk-lib'), constructs: version('constructs'), 'realtime-broadcast': `file:${packed}` },
    }),
  );
  execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error'], {
    cwd: app,
    stdio: 'pipe',
  });
  expect(existsSync(path.join(app, 'node_modules', 'esbuild'))).toBe(false);
  expect(existsSync(path.join(app, 'node_modules', 'realtime-broadcast', 'lambda', 'handler.ts'))).toBe(false);

  writeFileSync(
    path.join(app, 'app.js'),
    `const { App } = require('aws-cdk-lib');
const { BroadcastStack, RealtimeBroadcast } = require('realtime-broadcast');
const app = new App({ outdir: 'cdk.out' });
const stack = new BroadcastStack(app, 'Consumer', { broadcast: { namespaces: { chat: { history: { size: 10, ttlSeconds: 600 } } }, pusherEndpoint: true } });
if (!(stack.broadcast instanceof RealtimeBroadcast)) throw new Error('not the construct');
const assembly = app.synth();
process.stdout.write(JSON.stringify(assembly.getStackByName('Consumer').template));
`,
  );
  const template = JSON.parse(
    execFileSync(process.execPath, ['app.js'], { cwd: app, encoding: 'utf8', env: { ...process.env, PATH: '/usr/bin:/bin' } }),
  );
  const resources = Object.values<{ Type: string; Properties: Record<string, any> }>(template.Resources);
  const ofType = (type: string) => resources.filter((r) => r.Type === type);
  expect(ofType('AWS::DynamoDB::Table')).toHaveLength(8);
  const routeKeys = ofType('AWS::ApiGatewayV2::Route')
    .map((r) => r.Properties.RouteKey)
    .sort();
  expect(routeKeys).toEqual([...WEBSOCKET_ROUTE_KEYS, ...HTTP_ROUTE_KEYS, '$default'].sort());
  const handler = ofType('AWS::Lambda::Function').find((f) => f.Properties.Environment?.Variables?.CHANNELS_TABLE);
  expect(handler?.Properties).toMatchObject({ Handler: 'index.handler', Runtime: 'nodejs22.x', Architectures: ['arm64'] });
  // Namespace defaults travel in a file beside the shipped bundle, not in the 4 KB environment.
  expect(handler?.Properties.Environment.Variables.NAMESPACES).toBeUndefined();
  expect(handler?.Properties.Environment.Variables.NAMESPACES_FILE).toBe('namespaces.json');
  expect(Object.keys(template.Outputs)).toEqual(
    expect.arrayContaining([
      'WebSocketUrl',
      'BroadcastUrl',
      'ConsoleUrl',
      'TryWebSocket',
      'CreateProjectKey',
      'PusherHost',
      'PusherJsConfig',
    ]),
  );
  // The function file the construct read from the package, the stage baked in.
  expect(ofType('AWS::CloudFront::Function')[0].Properties.FunctionCode).toContain("var STAGE = 'production';");
  // The asset is the shipped bundle, with the console's files beside it.
  const outdir = path.join(app, 'cdk.out');
  const asset = readdirSync(outdir).find((d) => d.startsWith('asset.') && existsSync(path.join(outdir, d, 'index.js')))!;
  expect(existsSync(path.join(outdir, asset, 'console', 'page.html'))).toBe(true);
  expect(JSON.parse(readFileSync(path.join(outdir, asset, 'namespaces.json'), 'utf8'))).toEqual({
    chat: { history: { size: 10, ttlSeconds: 600 } },
  });
  // The handler's budget, as test/infra/realtime-broadcast.test.ts holds it.
  expect(statSync(path.join(outdir, asset, 'index.js')).size).toBeLessThan(480 * 1024);

  const resolve = (name: string) =>
    execFileSync(process.execPath, ['-e', `process.stdout.write(require.resolve(${JSON.stringify(name)}))`], {
      cwd: app,
      encoding: 'utf8',
    });
  expect(resolve('realtime-broadcast/client')).toMatch(/dist[/\\]client[/\\]index\.cjs$/);
  expect(resolve('realtime-broadcast/publisher')).toMatch(/dist[/\\]client[/\\]publisher\.cjs$/);
}, 300_000);
