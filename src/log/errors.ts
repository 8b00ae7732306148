/**
 * Typed errors of the durable log writer. Every one extends weft's
 * `WeftError` through {@link LogError}, and every error of a write hands the
 * lines back in `.lines`, so a failed write never loses data silently.
 *
 * @module
 */
import { WeftError } from '../channel/index.js';

/**
 * Base class of the log writer's errors.
 *
 * @example
 * ```ts
 * import { openLog, LogError } from 'weft/log';
 * const [log, writer] = await openLog('/tmp/app.log');
 * await writer.close();
 * await log.write('late').catch((e) => console.log(e instanceof LogError)); // true
 * log.close();
 * ```
 */
export class LogError extends WeftError {}

/**
 * Why a line was refused: it is not a string, or it contains a `'\n'`.
 *
 * @example
 * ```ts
 * import type { LogLineErrorReason } from 'weft/log';
 * const hint = (r: LogLineErrorReason): string => (r === 'newline' ? 'JSON.stringify it' : 'String() it');
 * console.log(hint('newline'));
 * ```
 */
export type LogLineErrorReason = 'not-a-string' | 'newline';

/**
 * A line was refused: lines are strings without `'\n'` (the newline is the
 * record separator in the file, so a line holding one would read back as two
 * records, or as a torn one). Nothing of the write was written. Encode
 * records that may contain newlines first, e.g. with `JSON.stringify`, whose
 * output never holds a raw newline.
 *
 * @example
 * ```ts
 * import { openLog, LogLineError } from 'weft/log';
 * const [log, writer] = await openLog('/tmp/app.log');
 * await log.write('two\nlines').catch((e: LogLineError) => console.log(e.reason, e.line)); // newline two\nlines
 * await log.write(JSON.stringify('two\nlines'));  // fine: "two\\nlines"
 * log.close(); await writer.close();
 * ```
 */
export class LogLineError extends LogError {
  readonly reason: LogLineErrorReason;
  /** The offending value. */
  readonly line: unknown;
  /** Every line of the refused write (none of them was written). */
  readonly lines: readonly unknown[];
  constructor(reason: LogLineErrorReason, line: unknown, lines: readonly unknown[] = [line]) {
    super(
      reason === 'newline'
        ? "log line refused: it contains a '\\n' (the record separator); encode it first, e.g. with JSON.stringify — nothing of this write was written; the lines are in error.lines"
        : `log line refused: expected a string, got ${line === null ? 'null' : typeof line} — nothing of this write was written; the lines are in error.lines`,
    );
    this.reason = reason;
    this.line = line;
    this.lines = lines;
  }
}

/**
 * The write could not be handed to the writer: the writer is closed (after
 * `close()`, after every Sender closed, or after it failed), or this
 * producer handle is closed. The lines were not written; they are in
 * `.lines`. `.cause` holds the channel error, or the writer's failure.
 *
 * @example
 * ```ts
 * import { openLog, LogClosedError } from 'weft/log';
 * const [log, writer] = await openLog('/tmp/app.log');
 * await writer.close();
 * await log.writeDurable('too late').catch((e: LogClosedError) => console.log(e.lines)); // ['too late']
 * log.close();
 * ```
 */
export class LogClosedError extends LogError {
  /** The lines that were not written. */
  readonly lines: readonly string[];
  constructor(lines: readonly string[], detail: string, options?: { cause?: unknown }) {
    super(`log write refused: ${detail}; the lines were not written and are in error.lines`, options);
    this.lines = lines;
  }
}

/**
 * A disk operation failed (write, sync, rotation, open). The writer stops at
 * its first disk error — after a failed `fsync` the kernel may have dropped
 * the unsynced pages, so nothing written since the last good sync can be
 * trusted, and writing on would put later lines after a hole — and every
 * durable write not yet confirmed rejects with this error. `.lines` holds
 * the lines of the rejected write: they may or may not be on disk. `.code`
 * is the system error code (`'EIO'`, `'ENOSPC'`, …) when there is one.
 *
 * @example
 * ```ts
 * import { openLog, LogIOError } from 'weft/log';
 * const [log, writer] = await openLog('/tmp/app.log', {
 *   hooks: { sync: async () => { throw Object.assign(new Error('disk gone'), { code: 'EIO' }); } },
 * });
 * await log.writeDurable('x').catch((e: LogIOError) => console.log(e.code)); // EIO
 * await writer.done.catch((e: LogIOError) => console.log(e.message));
 * log.close();
 * ```
 */
export class LogIOError extends LogError {
  /** The system error code, e.g. `'EIO'` or `'ENOSPC'`, when known. */
  readonly code: string | undefined;
  /** The lines of the write that failed (possibly on disk, possibly not). */
  readonly lines: readonly string[];
  constructor(message: string, code: string | undefined, lines: readonly string[] = [], options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.lines = lines;
  }

  /** @internal Wraps a failure of `what` (a Node system error or anything thrown). */
  static from(what: string, path: string, cause: unknown): LogIOError {
    if (cause instanceof LogIOError) return cause;
    const code = (cause as { code?: unknown } | null)?.code;
    const reason = cause instanceof Error ? cause.message : String(cause);
    return new LogIOError(
      `log ${what} failed on ${path}: ${reason} — the writer stopped; unconfirmed durable writes were rejected`,
      typeof code === 'string' ? code : undefined,
      [],
      { cause },
    );
  }

  /** @internal The same failure, for the lines of one write. */
  forLines(lines: readonly string[]): LogIOError {
    return new LogIOError(this.message, this.code, lines, { cause: this.cause });
  }
}

/**
 * A second writer was opened on a file that a writer of this process already
 * owns. Two writers appending to one file would interleave their batches and
 * break each other's repair; close the first one, or share its producers.
 * (Writers in different processes are not detected: one process per file.)
 *
 * @example
 * ```ts
 * import { openLog, LogBusyError } from 'weft/log';
 * const [log, writer] = await openLog('/tmp/app.log');
 * await openLog('/tmp/app.log').catch((e: LogBusyError) => console.log(e.path));
 * log.close(); await writer.close();
 * ```
 */
export class LogBusyError extends LogError {
  readonly path: string;
  constructor(path: string) {
    super(`a log writer of this process already owns ${path}; close it first, or share its producers`);
    this.path = path;
  }
}
