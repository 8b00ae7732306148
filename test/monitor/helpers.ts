import type { HangAlert, HangMonitor } from '../../src/monitor/index.js';
import { guard } from '../helpers.js';

/** Spins synchronously for `ms` milliseconds; returns a checksum so the work is real. */
export function spinOnMain(ms: number): number {
  const end = Date.now() + ms;
  let x = 0;
  while (Date.now() < end) for (let i = 0; i < 1000; i++) x = (x + i) % 1000003;
  return x;
}

/** Receives alerts until one matches; rejects after `ms` (a hang guard). */
export async function awaitAlert(m: HangMonitor, pred: (a: HangAlert) => boolean, ms = 8000): Promise<HangAlert> {
  return guard(
    (async () => {
      for (;;) {
        const a = await m.alerts.recv();
        if (pred(a)) return a;
      }
    })(),
    ms,
    'alert',
  );
}

/** Alerts queued now (without waiting). */
export function drain(m: HangMonitor): HangAlert[] {
  const out: HangAlert[] = [];
  try {
    m.alerts.tryRecvMany(out);
  } catch {
    // closed
  }
  return out;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
