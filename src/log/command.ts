/**
 * What producers send to a log writer, and what a durable write gets back.
 *
 * The protocol is plain data plus weft Senders, so it travels on any weft
 * channel — in-loop today, shared-memory channels between worker threads —
 * and a producer that holds nothing but a `Sender<LogCommand>` can use it
 * directly (or wrap it in a {@link LogProducer}).
 *
 * @module
 */
import { Sender } from '../channel/index.js';
import { LogClosedError, LogIOError, LogLineError, type LogLineErrorReason } from './errors.js';

/**
 * One message to a log writer:
 *
 * - a `string`: one line, fire-and-forget;
 * - `{ line, reply? }`: one line; with `reply`, durable;
 * - `{ lines, reply? }`: several lines written together, in order, in one
 *   batch; with `reply`, durable (one answer for all). `{ lines: [], reply }`
 *   is a flush: it is answered once everything sent before it on the same
 *   Sender is on disk.
 *
 * A durable command carries a one-shot reply Sender. The writer answers it
 * with exactly one {@link LogAck} — `{ ok: true }` only after the lines were
 * written and the file synced (`fdatasync`) — and then closes it: the
 * `reply` Sender belongs to the writer once the command is sent (between
 * threads it moves with the message).
 *
 * Lines are strings without `'\n'`; the writer refuses others (a durable
 * command gets `{ ok: false, error: 'invalid' }`).
 *
 * @example
 * ```ts
 * import { bounded } from 'weft';
 * import { LogWriter, type LogAck, type LogCommand } from 'weft/log';
 * const [tx, rx] = bounded<LogCommand>(64);
 * const writer = await LogWriter.open('/tmp/app.log', rx);
 * await tx.send('fire and forget');
 * const [reply, answer] = bounded<LogAck>(1);
 * await tx.send({ line: 'on disk before the answer', reply });
 * console.log(await answer.recv()); // { ok: true }
 * tx.close();
 * await writer.done;
 * ```
 */
export type LogCommand =
  | string
  | { readonly line: string; readonly reply?: Sender<LogAck> }
  | { readonly lines: readonly string[]; readonly reply?: Sender<LogAck> };

/**
 * Why a durable write failed: a disk error, a refused line, or a writer that
 * closed first.
 *
 * @example
 * ```ts
 * import type { LogAckError } from 'weft/log';
 * const retryable = (e: LogAckError): boolean => e === 'closed'; // not written: safe to send elsewhere
 * console.log(retryable('io')); // false: it may be on disk
 * ```
 */
export type LogAckError = 'io' | 'invalid' | 'closed';

/**
 * The writer's answer to a durable command: `{ ok: true }` once its lines
 * are on disk, or `{ ok: false, … }` with why not. Plain data, so it crosses
 * threads.
 *
 * @example
 * ```ts
 * import type { LogAck } from 'weft/log';
 * function explain(a: LogAck): string {
 *   return a.ok ? 'on disk' : `${a.error}: ${a.message}`;
 * }
 * console.log(explain({ ok: true })); // on disk
 * ```
 */
export type LogAck =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly error: LogAckError;
      readonly message: string;
      /** System error code for `'io'`, the {@link LogLineErrorReason} for `'invalid'`. */
      readonly code?: string;
    };

/** The one success answer (shared: it is never mutated). @internal */
export const ACK_OK: LogAck = Object.freeze({ ok: true });

/** @internal Builds the failure answer for `e`. */
export function ackFailure(e: LogIOError | LogLineError | LogClosedError): LogAck {
  if (e instanceof LogLineError) return { ok: false, error: 'invalid', message: e.message, code: e.reason };
  if (e instanceof LogIOError) {
    return e.code === undefined ? { ok: false, error: 'io', message: e.message } : { ok: false, error: 'io', message: e.message, code: e.code };
  }
  return { ok: false, error: 'closed', message: e.message };
}

/** @internal Turns a failure answer back into the typed error, with the lines of the write. */
export function errorOfAck(ack: Exclude<LogAck, { ok: true }>, lines: readonly string[]): Error {
  switch (ack.error) {
    case 'io':
      return new LogIOError(ack.message, ack.code, lines);
    case 'invalid': {
      const reason: LogLineErrorReason = ack.code === 'not-a-string' ? 'not-a-string' : 'newline';
      const bad = reason === 'newline' ? lines.find((l) => typeof l !== 'string' || l.includes('\n')) : lines.find((l) => typeof l !== 'string');
      return new LogLineError(reason, bad, lines);
    }
    default:
      return new LogClosedError(lines, 'the log writer closed before writing them');
  }
}

/**
 * @internal The reason `line` cannot be a log line, or undefined when it can.
 */
export function lineProblem(line: unknown): LogLineErrorReason | undefined {
  if (typeof line !== 'string') return 'not-a-string';
  return line.includes('\n') ? 'newline' : undefined;
}

/** @internal The first refused line of `lines` as an error, or undefined. */
export function checkLines(lines: readonly unknown[]): LogLineError | undefined {
  for (let i = 0; i < lines.length; i++) {
    const why = lineProblem(lines[i]);
    if (why !== undefined) return new LogLineError(why, lines[i], lines);
  }
  return undefined;
}

/**
 * @internal Answers a one-shot reply Sender and closes it. Never throws: a
 * producer that stopped listening (its reply Receiver closed) is not an error
 * of the writer.
 */
export function answer(reply: Sender<LogAck>, ack: LogAck): void {
  try {
    if (!reply.isClosed) reply.offer(ack);
  } catch {
    // the producer is gone: nobody to tell
  }
  reply.close();
}

/** @internal Is `v` usable as a reply Sender? */
export function isReply(v: unknown): v is Sender<LogAck> {
  return v instanceof Sender;
}
