// Prepares a checkout to run: installs dependencies when they are missing
// or older than the lockfile, then compiles TypeScript into dist/.
import { execSync } from 'node:child_process';
import { existsSync, rmSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const run = (cmd) => execSync(cmd, { cwd: root, stdio: 'inherit' });

const marker = join(root, 'node_modules', '.package-lock.json');
const lock = join(root, 'package-lock.json');
if (!existsSync(marker) || statSync(marker).mtimeMs < statSync(lock).mtimeMs) {
  console.log('weft: installing dependencies (npm ci)…');
  run('npm ci --no-audit --no-fund');
}
// A clean build: no stale compiled test from a deleted source is ever run.
rmSync(join(root, 'dist'), { recursive: true, force: true });
run('npx --no-install tsc -p tsconfig.json');
