/** The client ships small and self-contained: built as it is published, gzipped under 8 KB, importing nothing. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { buildClient } from '../../client/build';

const outdir = mkdtempSync(path.join(tmpdir(), 'client-build-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

it('builds ESM, CommonJS and types; the client is ≤ 8 KB minified and gzipped, with no imports', () => {
  buildClient(outdir);
  const esm = readFileSync(path.join(outdir, 'index.mjs'));
  const gzipped = gzipSync(esm, { level: 9 }).length;
  console.log(`client: ${esm.length} bytes minified, ${gzipped} gzipped`);
  expect(gzipped).toBeLessThanOrEqual(8 * 1024);
  expect(esm.toString()).not.toMatch(/\bimport\s*[{*"'\w]|require\(/);
  expect(readFileSync(path.join(outdir, 'index.cjs'), 'utf8')).toMatch(/module\.exports/);
  expect(readFileSync(path.join(outdir, 'index.d.ts'), 'utf8')).toMatch(/export declare class RealtimeClient/);
  expect(readFileSync(path.join(outdir, 'publisher.d.ts'), 'utf8')).toMatch(/export declare function createPublisher/);
  // The classic script a page opened from a file loads: the global RealtimeBroadcast, nothing imported.
  const script = readFileSync(path.join(outdir, 'realtime-client.js'), 'utf8');
  expect(script).toMatch(/^"use strict";var RealtimeBroadcast=/);
  expect(script).not.toMatch(/\bimport\s*[{*"'\w]|require\(/);
}, 60_000);
