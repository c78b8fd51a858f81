/**
 * The documented error table (docs/protocol.md) against the code's own (`ERRORS`): every code once,
 * with its status and whether it is temporary, and no code the product does not answer with.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ERRORS } from '../../lambda/protocol';

// The table lives with the protocol it belongs to.
const README = readFileSync(path.join(__dirname, '..', '..', 'docs', 'protocol.md'), 'utf8');

/** The rows of the table headed `| code | HTTP | retry? | when |`. */
function documentedErrors() {
  const lines = README.split('\n');
  const head = lines.findIndex((line) => line.startsWith('| code | HTTP | retry? | when |'));
  expect(head).toBeGreaterThanOrEqual(0);
  const rows: { code: string; status: number; temporary: boolean; when: string }[] = [];
  for (const line of lines.slice(head + 2)) {
    if (!line.startsWith('|')) break;
    const [code, status, retry, when] = line
      .split('|')
      .slice(1, -1)
      .map((cell) => cell.trim());
    rows.push({ code: code.replace(/`/g, ''), status: Number(status), temporary: retry === 'yes', when });
  }
  return rows;
}

describe('the documented error table', () => {
  it('lists every code the product answers with, once, with its status and whether to retry', () => {
    const documented = documentedErrors();
    const actual = Object.values(ERRORS).map(({ code, status, temporary }) => ({ code, status, temporary }));
    expect(
      documented.map(({ code, status, temporary }) => ({ code, status, temporary })).sort((a, b) => a.code.localeCompare(b.code)),
    ).toEqual(actual.sort((a, b) => a.code.localeCompare(b.code)));
  });

  it('says when each happens', () => {
    for (const row of documentedErrors()) expect({ code: row.code, said: row.when.length > 10 }).toEqual({ code: row.code, said: true });
  });
});
