/** examples/README.md indexes every example, and every example it links to exists and has a test. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url)); // from dist/test/examples/ to the repository
const examples = `${root}examples/`;

test('examples/README.md: every example is listed, every listed file exists, every listed test exists', () => {
  const index = readFileSync(`${examples}README.md`, 'utf8');
  const rows = index.split('\n').filter((l) => /^\| (\d+|—) \|/.test(l));
  const linked = rows.flatMap((r) => [...r.matchAll(/\]\(([^)]+)\)/g)].map((m) => m[1]!));
  for (const file of linked) assert.ok(existsSync(`${examples}${file}`), `${file} is listed and exists`);
  for (const t of rows.flatMap((r) => [...r.matchAll(/(test\/\S+\.test\.ts)/g)].map((m) => m[1]!))) {
    assert.ok(existsSync(`${root}${t}`), `${t} exists`);
  }
  const entries = readdirSync(examples, { withFileTypes: true })
    .filter((e) => e.isDirectory() || e.name.endsWith('.ts'))
    .map((e) => (e.isDirectory() ? `${e.name}/` : e.name));
  for (const e of entries) assert.ok(linked.includes(e), `${e} is listed in examples/README.md`);
  for (const row of rows.filter((r) => !r.includes('not yet present'))) {
    assert.match(row, /`(node dist\/examples\/\S+\.js|npm start)[^`]*`/, `a command for: ${row.slice(0, 60)}`);
  }
});
