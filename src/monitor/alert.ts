/**
 * Hang alerts and their readable form; profile samples.
 * @module
 */
import type { HangMonitor } from './monitor.js';

/**
 * One frame of a sampled stack, top of the stack first. `line` and `column`
 * are 1-based (0 when unknown); `url` is a `file://` URL, a `node:` module
 * name, or empty for native frames.
 *
 * @example
 * ```ts
 * import type { StackFrame } from 'weft/monitor';
 * const f: StackFrame = { functionName: 'parse', url: 'file:///app/parser.js', line: 12, column: 5 };
 * console.log(`${f.functionName} at ${f.url}:${f.line}`);
 * ```
 */
export interface StackFrame {
  functionName: string;
  url: string;
  line: number;
  column: number;
}

/**
 * A component stayed active (not waiting) without reporting progress for
 * longer than its `transientMs` (`'transient'`) or `permanentMs`
 * (`'permanent'`). `threadId` is the thread it registered on (0 = main);
 * `durationMs` how long it had been busy when the alert was raised, and
 * `raisedAt` when that was (ms since the epoch, like `Date.now()` but
 * fractional: an alert about the main thread is received only once the main
 * thread runs again, and this says when the monitor saw it);
 * `annotation` what it said it was handling at its last activity; `frames`
 * (permanent alerts only) the stack of that thread sampled while the
 * component was still stuck — absent when sampling is off, when the thread
 * did not run JavaScript within the sampling timeout (blocked in a
 * synchronous system call), or when the component moved on meanwhile.
 *
 * @example
 * ```ts
 * import type { HangAlert } from 'weft/monitor';
 * function page(a: HangAlert): boolean {
 *   console.log(`raised ${Date.now() - a.raisedAt} ms ago`);
 *   return a.kind === 'permanent' && (a.frames?.some((f) => f.functionName === 'render') ?? false);
 * }
 * ```
 */
export interface HangAlert {
  kind: 'transient' | 'permanent';
  component: string;
  threadId: number;
  durationMs: number;
  raisedAt: number;
  annotation?: string;
  frames?: StackFrame[];
}

/**
 * One stack sample of a profile ({@link HangMonitor.profile}): the thread,
 * when it was taken (ms since the epoch), and its frames, top first.
 *
 * @example
 * ```ts
 * import type { ProfileSample } from 'weft/monitor';
 * const top = (samples: ProfileSample[]): Map<string, number> => {
 *   const counts = new Map<string, number>();
 *   for (const s of samples) { const f = s.frames[0]?.functionName ?? ''; counts.set(f, (counts.get(f) ?? 0) + 1); }
 *   return counts;
 * };
 * ```
 */
export interface ProfileSample {
  threadId: number;
  at: number;
  frames: StackFrame[];
}

/**
 * The alert as one readable line, followed by up to `maxFrames` frames
 * (top first) in the usual `at fn (url:line:column)` form.
 *
 * @example
 * ```ts
 * import { formatAlert } from 'weft/monitor';
 * console.log(formatAlert({ kind: 'permanent', component: 'parser', threadId: 0, durationMs: 1203, raisedAt: Date.now(), annotation: 'jobs',
 *   frames: [{ functionName: 'parse', url: 'file:///app/parser.js', line: 12, column: 5 }] }));
 * // permanent hang: component "parser" on main thread busy for 1203 ms (handling jobs)
 * //     at parse (file:///app/parser.js:12:5)
 * ```
 */
export function formatAlert(a: HangAlert, maxFrames = 5): string {
  const where = a.threadId === 0 ? 'main thread' : `thread ${a.threadId}`;
  let s = `${a.kind} hang: component "${a.component}" on ${where} busy for ${Math.round(a.durationMs)} ms`;
  if (a.annotation !== undefined) s += ` (handling ${a.annotation})`;
  if (a.frames !== undefined && a.frames.length > 0) {
    for (const f of a.frames.slice(0, maxFrames)) {
      s += `\n    at ${f.functionName || '<anonymous>'} (${f.url || '<unknown>'}:${f.line}:${f.column})`;
    }
  }
  return s;
}
