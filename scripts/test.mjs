// Runs every compiled test file with node's test runner.
// Usage: node scripts/test.mjs [substring…]  (filters test files by path)
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join, relative } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const filters = process.argv.slice(2);

function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)],
  );
}

const files = walk(join(root, 'dist', 'test'))
  .filter((f) => f.endsWith('.test.js'))
  .map((f) => relative(root, f))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();

const res = spawnSync(
  process.execPath,
  // A hang guard, not a timing check: a test still running after 5 minutes fails, and
  // --test-force-exit ends a file whose failed test left workers or handles behind.
  ['--expose-gc', '--test', '--test-concurrency=2', '--test-timeout=300000', '--test-force-exit', ...files],
  { cwd: root, stdio: 'inherit' },
);
process.exit(res.status ?? 1);
