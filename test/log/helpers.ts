/** Helpers of the log writer tests. */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { listSegments } from '../../src/log/index.js';

/** A fresh temporary folder, removed when the test file ends. */
export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'weft-log-test-'));
  after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** The whole content of the log at `path` (every segment, in order). */
export async function readLog(path: string): Promise<string> {
  let out = '';
  for (const file of await listSegments(path)) out += await readFile(file, 'utf8');
  return out;
}

/** The lines of the log at `path` (every segment, in order). Asserts nothing. */
export async function readLines(path: string): Promise<string[]> {
  const text = await readLog(path);
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** A promise to open later: `await gate.wait` until `gate.open()`. */
export class Gate {
  readonly wait: Promise<void>;
  open!: () => void;
  constructor() {
    this.wait = new Promise<void>((resolve) => (this.open = resolve));
  }
}

/**
 * Polls `check` (every couple of ms) until it returns true; fails after
 * `ms` (a hang guard, not a timing assertion).
 */
export async function until(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = performance.now() + ms;
  while (!check()) {
    if (performance.now() > end) throw new Error(`gave up waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Lets pending I/O callbacks and timers run for a few event-loop turns. */
export async function settle(turns = 20): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((r) => setTimeout(r, 1));
}

/** An error that looks like a Node system error. */
export function sysError(code: string, message = code): Error {
  return Object.assign(new Error(message), { code });
}
