/** Every symbol the package exports (lib/index.ts, the client and publisher entries) has TSDoc with an @example. */
import { readFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');
const PUBLIC: Record<string, readonly string[] | 'all'> = {
  'lib/realtime-broadcast.ts': 'all',
  'lib/broadcast-stack.ts': 'all',
  'lib/context-settings.ts': 'all',
  'lib/monitoring.ts': 'all',
  'lambda/contract/namespaces.ts': ['HistoryConfig', 'NamespaceConfig'],
  'client/src/index.ts': 'all',
  'client/src/publisher.ts': 'all',
};

const cases = Object.entries(PUBLIC).flatMap(([file, names]) => {
  const text = readFileSync(path.join(ROOT, file), 'utf8');
  return [
    ...text.matchAll(
      /(\/\*\*(?:(?!\*\/)[\s\S])*\*\/\s*)?^export (?:declare )?(?:abstract )?(?:interface|class|function|const|type) (\w+)/gm,
    ),
  ]
    .filter((m) => names === 'all' || names.includes(m[2]))
    .map((m) => [`${file} ${m[2]}`, m[1] ?? ''] as const);
});

it('finds the exports', () => expect(cases.length).toBeGreaterThan(25));

it.each(cases)('%s has TSDoc with an @example', (_, doc) => {
  expect(doc).toMatch(/^\/\*\*[\s\S]*@example[\s\S]*\*\/\s*$/);
});
