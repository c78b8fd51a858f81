/**
 * The import rules ARCHITECTURE.md states, checked on the real sources: which folder may import
 * which, no cycles, and `lib/` (so `cdk synth`) loading only the contract.
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { buildSync } from 'esbuild';

const ROOT = path.join(__dirname, '..', '..');

function sources(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const relative = path.join(dir, entry.name);
    if (entry.isDirectory()) return sources(relative);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [relative] : [];
  });
}

/** Relative imports of a file, as repository paths (`lambda/protocol.ts`); type-only imports count too. */
function importsOf(file: string): string[] {
  const text = readFileSync(path.join(ROOT, file), 'utf8');
  const pattern = /(?:^|\n)\s*(?:(?:import|export)\s[^;]*?from\s+|import\s+)'(\.[^']+)'/g;
  const specifiers = [...text.matchAll(pattern)].map((m) => m[1]);
  return specifiers.map((spec) => {
    const target = path.normalize(path.join(path.dirname(file), spec));
    const candidates = [`${target}.ts`, path.join(target, 'index.ts')];
    return candidates.find((candidate) => all.includes(candidate)) ?? `${target}.ts`;
  });
}

const all = ['lambda', 'lib', 'local', 'bin', 'bench', 'client'].flatMap(sources);
const graph = new Map(all.map((file) => [file, importsOf(file)]));

/** The layer of a file: the folder that says what it is. */
function layerOf(file: string): string {
  const parts = file.split(path.sep);
  if (parts[0] !== 'lambda') return parts[0];
  if (parts.length === 2) return `lambda/${parts[1].replace(/\.ts$/, '')}`;
  return `lambda/${parts[1]}`;
}

/** What each layer may import (itself always). Mirrors ARCHITECTURE.md. */
const ALLOWED: Record<string, readonly string[]> = {
  'lambda/contract': [],
  'lambda/tasks': ['lambda/contract'],
  'lambda/ports': ['lambda/contract', 'lambda/tasks'],
  // The wire types are the client's own (type-only: see below).
  'lambda/protocol': ['lambda/contract', 'client'],
  'lambda/telemetry': ['lambda/contract', 'lambda/protocol'],
  'lambda/auth': ['lambda/contract', 'lambda/protocol', 'lambda/ports'],
  'lambda/domain': ['lambda/contract', 'lambda/protocol', 'lambda/ports', 'lambda/tasks'],
  'lambda/adapters': ['lambda/contract', 'lambda/ports', 'lambda/tasks'],
  'lambda/operations': [
    'lambda/contract',
    'lambda/protocol',
    'lambda/ports',
    'lambda/tasks',
    'lambda/telemetry',
    'lambda/auth',
    'lambda/domain',
  ],
  // Codecs: only the operations, never the domain, the stores or the rules behind them.
  'lambda/edge': ['lambda/contract', 'lambda/protocol', 'lambda/tasks', 'lambda/telemetry', 'lambda/operations'],
  'lambda/compose': [
    'lambda/contract',
    'lambda/ports',
    'lambda/tasks',
    'lambda/telemetry',
    'lambda/auth',
    'lambda/domain',
    'lambda/adapters',
    'lambda/operations',
    'lambda/edge',
  ],
  'lambda/handler': ['lambda/contract', 'lambda/compose'],
  lib: ['lambda/contract'],
  bin: ['lib'],
  local: ['local', 'lib', 'lambda/contract', 'lambda/compose', 'lambda/edge', 'lambda/adapters', 'lambda/auth'],
  // The client is published on its own: it imports nothing of the service.
  client: ['client'],
  bench: ['bench', 'local', 'lambda/contract', 'lambda/compose', 'lambda/adapters', 'lambda/auth'],
};

describe('imports', () => {
  it('reads every source file and finds every relative import', () => {
    expect(all.length).toBeGreaterThan(40);
    for (const [file, targets] of graph) {
      for (const target of targets) expect({ file, target, exists: all.includes(target) }).toEqual({ file, target, exists: true });
    }
  });

  it('go only where the layering allows', () => {
    const broken: string[] = [];
    for (const [file, targets] of graph) {
      const from = layerOf(file);
      const allowed = ALLOWED[from];
      if (!allowed) {
        broken.push(`${file}: layer ${from} is not in the rules`);
        continue;
      }
      for (const target of targets) {
        const to = layerOf(target);
        if (to !== from && !allowed.includes(to)) broken.push(`${file} → ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('bring the client into the service only as types: the handler bundles none of its code', () => {
    const typeOnly = /(?:^|\n)\s*(?:import|export)\s+type\s/;
    for (const [file, targets] of graph) {
      if (!file.startsWith('lambda/')) continue;
      for (const target of targets.filter((t) => t.startsWith('client/'))) {
        const text = readFileSync(path.join(ROOT, file), 'utf8');
        const lines = text
          .split('\n')
          .filter((line) => line.includes(`'${path.relative(path.dirname(file), target).replace(/\.ts$/, '')}'`));
        expect({ file, target, typeOnly: lines.every((line) => typeOnly.test(line)) }).toEqual({ file, target, typeOnly: true });
      }
    }
  });

  it('keep every codec short: the operations hold the work', () => {
    const long = all
      .filter((file) => file.startsWith('lambda/edge/'))
      .map((file) => ({ file, lines: readFileSync(path.join(ROOT, file), 'utf8').split('\n').length }))
      .filter(({ lines }) => lines >= 250);
    expect(long).toEqual([]);
  });

  it('form no cycle', () => {
    const state = new Map<string, 'visiting' | 'done'>();
    const cycles: string[] = [];
    const visit = (file: string, trail: string[]) => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'visiting') {
        cycles.push([...trail.slice(trail.indexOf(file)), file].join(' → '));
        return;
      }
      state.set(file, 'visiting');
      for (const target of graph.get(file) ?? []) visit(target, [...trail, file]);
      state.set(file, 'done');
    };
    for (const file of all) visit(file, []);
    expect(cycles).toEqual([]);
  });
});

describe('the construct', () => {
  it('bundles without Powertools, zod or any AWS SDK client: synth loads only the contract from lambda/', () => {
    const result = buildSync({
      entryPoints: [path.join(ROOT, 'lib', 'realtime-broadcast.ts')],
      bundle: true,
      write: false,
      metafile: true,
      platform: 'node',
      logLevel: 'silent',
      external: ['aws-cdk-lib', 'aws-cdk-lib/*', 'constructs'],
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.filter((input) => input.includes('node_modules'))).toEqual([]);
    const fromLambda = inputs.filter((input) => input.startsWith('lambda/'));
    expect(fromLambda.length).toBeGreaterThan(0);
    expect(fromLambda.filter((input) => !input.startsWith('lambda/contract/'))).toEqual([]);
  });
});
