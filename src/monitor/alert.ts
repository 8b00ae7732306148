/**
 * Hang alerts and their readable form.
 * @module
 */

/** One frame of a sampled stack. Lines and columns are 1-based. */
export interface StackFrame {
  functionName: string;
  url: string;
  line: number;
  column: number;
}

/**
 * A component stayed active (not waiting) without progress for longer than
 * its `transientMs` (`'transient'`) or `permanentMs` (`'permanent'`, with the
 * sampled stack of its thread in `frames` when sampling worked).
 */
export interface HangAlert {
  kind: 'transient' | 'permanent';
  component: string;
  threadId: number;
  durationMs: number;
  annotation?: string;
  frames?: StackFrame[];
}

/** One readable line for an alert, followed by up to `maxFrames` top frames. */
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
