/** Small helpers every benchmark suite shares. @module */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';

/** The median of `xs` (the mean of the middle two for an even count). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The repository root: the nearest folder above `from` with a package.json. */
export function findRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return process.cwd();
  }
}

/** Node's collector when run with --expose-gc, else undefined: suites collect between runs when they can. */
export const gc: (() => void) | undefined = (globalThis as { gc?: () => void }).gc;

/** A positive integer from the environment, or `fallback`. */
export function envInt(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n <= 0) throw new RangeError(`${name} must be a positive integer, got ${v}`);
  return n;
}

/** A comma-separated list from the environment (entries trimmed, empty ones dropped), or undefined when unset. */
export function envList(name: string, env: NodeJS.ProcessEnv = process.env): string[] | undefined {
  return env[name]?.split(',').map((s) => s.trim()).filter(Boolean);
}

/** mulberry32: a small seeded PRNG, so a run order can be replayed from its seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Shuffles `xs` in place (Fisher–Yates) and returns it. */
export function shuffle<T>(xs: T[], rand: () => number = Math.random): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}

/** `x` rounded to two decimals. */
export const round2 = (x: number): number => Math.round(x * 100) / 100;

/** Writes `result` as indented JSON to `file`, creating its folder; returns `file`. */
export function writeJson(file: string, result: unknown): string {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
  return file;
}

/** Where and when a suite ran: the first fields of every results file. */
export interface MachineInfo {
  readonly date: string;
  readonly node: string;
  readonly platform: string;
  readonly cpus: number;
  /** The 1-minute load average when the suite started and ended: other work on the machine skews every figure. */
  readonly loadavg: { readonly start: number; readonly end: number };
}

/** The 1-minute load average now (pass the start of a suite to {@link machineInfo}). */
export const loadNow = (): number => loadavg()[0]!;

/** This machine's {@link MachineInfo}, for a suite that started at load average `loadStart`. */
export function machineInfo(loadStart: number): MachineInfo {
  return {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    cpus: cpus().length,
    loadavg: { start: round2(loadStart), end: round2(loadNow()) },
  };
}
