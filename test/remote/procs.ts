/** Child processes of the remote tests: spawn, read JSON lines, kill by PID. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
export const PEER = join(here, 'fixtures', 'peer.js');

export interface Peer {
  readonly child: ChildProcess;
  readonly lines: Array<Record<string, unknown>>;
  /** Resolves when a line matching `pred` has been printed (hang-guarded). */
  waitFor(pred: (l: Record<string, unknown>) => boolean, ms?: number, what?: string): Promise<Record<string, unknown>>;
  /** Resolves with the exit code (or signal). */
  readonly exited: Promise<number | string>;
  kill(signal?: NodeJS.Signals): void;
  stderr(): string;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) {
    try {
      if (c.exitCode === null && c.pid !== undefined) process.kill(c.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

export function peer(args: string[], env: Record<string, string> = {}): Peer {
  const child = spawn(process.execPath, [PEER, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  live.add(child);
  const lines: Array<Record<string, unknown>> = [];
  let err = '';
  let partial = '';
  const waiters: Array<() => void> = [];
  child.stdout!.on('data', (b: Buffer) => {
    partial += b.toString();
    let i: number;
    while ((i = partial.indexOf('\n')) >= 0) {
      const line = partial.slice(0, i);
      partial = partial.slice(i + 1);
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        err += `(bad line) ${line}\n`;
      }
    }
    for (const w of waiters.splice(0)) w();
  });
  child.stderr!.on('data', (b: Buffer) => {
    err = (err + b.toString()).slice(-5000);
  });
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => {
      live.delete(child);
      for (const w of waiters.splice(0)) w();
      resolve(code ?? signal ?? -1);
    }),
  );
  return {
    child,
    lines,
    exited,
    stderr: () => err,
    kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
        try {
          process.kill(child.pid, signal);
        } catch {
          // already gone
        }
      }
    },
    async waitFor(pred, ms = 30_000, what = 'line') {
      const end = Date.now() + ms;
      for (;;) {
        const hit = lines.find(pred);
        if (hit !== undefined) return hit;
        const error = lines.find((l) => 'error' in l);
        if (error !== undefined) throw new Error(`peer failed: ${String(error.error)}\n${err}`);
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`peer exited before ${what}: ${err}`);
        if (Date.now() > end) throw new Error(`peer: no ${what} within ${ms} ms\n${err}`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 200);
        });
      }
    },
  };
}
