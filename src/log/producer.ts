/**
 * The producer side of a log: a thin handle over a `Sender<LogCommand>`.
 *
 * A producer holds nothing but a Sender, so it can live anywhere a Sender
 * can — another component, or a worker thread holding a Sender of a shared
 * channel. Durable writes put a fresh one-shot reply Sender inside the
 * message (the articles' request/reply) and wait on its Receiver.
 *
 * @module
 */
import {
  bounded,
  ClosedHandleError,
  RecvError,
  SendError,
  TrySendError,
  type Receiver,
  type Sender,
} from '../channel/index.js';
import { checkLines, errorOfAck, lineProblem, type LogAck, type LogCommand } from './command.js';
import { LogClosedError, LogLineError } from './errors.js';

/**
 * Options of {@link LogProducer}.
 *
 * @example
 * ```ts
 * // worker.js — a producer in a worker thread, started with
 * // spawn(url, { handles: { log: tx.clone() } }) where [tx, rx] = sharedBounded<LogCommand>(1024)
 * import type { Sender } from 'weft';
 * import { sharedBounded, workerHandles } from 'weft/shared';
 * import { LogProducer, type LogAck, type LogCommand, type LogProducerOptions } from 'weft/log';
 * const { log } = workerHandles<{ log: Sender<LogCommand> }>();
 * const options: LogProducerOptions = { replyChannel: () => sharedBounded<LogAck>(1) };
 * const producer = new LogProducer(log, options);
 * await producer.writeDurable('from a worker, on disk');
 * producer.close();
 * ```
 */
export interface LogProducerOptions {
  /**
   * Makes the one-shot reply channel of each durable write (capacity 1 is
   * enough). Default: `bounded(1)`, for a writer in the same thread. When
   * the commands travel on a shared-memory channel to another thread, make
   * the reply channel shared too (`sharedBounded(1)`), so its Sender can
   * travel inside the command.
   */
  readonly replyChannel?: () => readonly [Sender<LogAck>, Receiver<LogAck>];
}

const DONE: Promise<void> = Promise.resolve();
const oneShot = (): readonly [Sender<LogAck>, Receiver<LogAck>] => bounded<LogAck>(1);

/** Most lines in one coalesced durable command. */
const GROUP_MAX = 1024;

/** One caller waiting on a durable group. */
interface Waiting {
  readonly lines: readonly string[];
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
}

/** Durable writes of one producer handle gathered into one command. */
interface Group {
  readonly lines: string[];
  readonly waiting: Waiting[];
}

/**
 * A producer's handle on a log writer: `write` (fire-and-forget) and
 * `writeDurable` (resolves once the line is on disk), over a
 * `Sender<LogCommand>` that it owns. Clone it once per producer; close each
 * clone when that producer is done (the writer ends when every Sender of
 * its channel is closed and everything is written).
 *
 * Lines are strings without `'\n'` (see {@link LogLineError}). Lines of one
 * producer handle reach the file in the order its calls were made.
 *
 * Durable writes made by one handle during one turn of the event loop are
 * sent as one command with one reply channel, at the end of that turn (or
 * at once when a `write` or `close` on the same handle comes first, to keep
 * the order): they would share a batch and a sync anyway, and keeping many
 * durable writes in flight then costs one message per turn, not one per line.
 *
 * @example
 * ```ts
 * import { openLog } from 'weft/log';
 * const [log, writer] = await openLog('/tmp/app.log');
 * const workers = [1, 2, 3].map((id) => {
 *   const mine = log.clone();
 *   return (async () => {
 *     for (let i = 0; i < 10; i++) await mine.write(`worker ${id} step ${i}`);
 *     await mine.writeDurable(`worker ${id} done`); // on disk when this resolves
 *     mine.close();
 *   })();
 * });
 * log.close();
 * await Promise.all(workers);
 * await writer.done;                               // every Sender closed: written, synced, closed
 * ```
 */
export class LogProducer implements Disposable {
  readonly #tx: Sender<LogCommand>;
  readonly #replyChannel: () => readonly [Sender<LogAck>, Receiver<LogAck>];
  /** Durable writes gathered this turn, not yet sent. */
  #group: Group | undefined;
  /** Sends waiting for room in the channel. */
  #sending = 0;
  /** close() was called (the Sender closes once no send is waiting). */
  #closing = false;

  /**
   * Wraps `sender` (this handle owns it: `close()` closes it).
   *
   * @example
   * ```ts
   * import { bounded } from 'weft';
   * import { LogProducer, LogWriter, type LogCommand } from 'weft/log';
   * const [tx, rx] = bounded<LogCommand>(256);
   * const writer = await LogWriter.open('/tmp/app.log', rx);
   * const log = new LogProducer(tx);
   * await log.writeDurable('hello');
   * log.close();
   * await writer.done;
   * ```
   */
  constructor(sender: Sender<LogCommand>, options?: LogProducerOptions) {
    this.#tx = sender;
    this.#replyChannel = options?.replyChannel ?? oneShot;
  }

  /** The Sender this handle sends on (to hand a raw Sender on; prefer {@link LogProducer.clone}). */
  get sender(): Sender<LogCommand> {
    return this.#tx;
  }

  /** True once this handle was closed. */
  get isClosed(): boolean {
    return this.#closing || this.#tx.isClosed;
  }

  /**
   * Fire-and-forget: hands `line` to the writer. Resolves as soon as the
   * writer's channel took it — at once when there is room, later when the
   * writer is behind (backpressure: await it). The line is written in a
   * later batch and synced at the latest when the writer closes; a process
   * crash before that may lose it. Rejects with {@link LogLineError} for a
   * line with `'\n'`, and {@link LogClosedError} (line in `.lines`) when the
   * writer or this handle is closed.
   *
   * @example
   * ```ts
   * import { openLog } from 'weft/log';
   * const [log, writer] = await openLog('/tmp/app.log');
   * for (let i = 0; i < 1000; i++) await log.write(`event ${i}`);
   * log.close();
   * await writer.done;
   * ```
   */
  write(line: string): Promise<void> {
    const why = lineProblem(line);
    if (why !== undefined) return Promise.reject(new LogLineError(why, line));
    if (this.#closing) return Promise.reject(closedError([line], new ClosedHandleError('write', line)));
    if (this.#group !== undefined) this.#sendGroup(); // keep the order of this handle's calls
    try {
      if (this.#tx.offer(line)) return DONE;
    } catch (e) {
      return Promise.reject(closedError([line], e));
    }
    return this.#send(line).then(undefined, (e: unknown) => {
      throw closedError([line], e);
    });
  }

  /**
   * Fire-and-forget for several lines: they are written together, in order,
   * in one batch (one message on the channel). Rejects like
   * {@link LogProducer.write}; a refused line refuses the whole call.
   *
   * @example
   * ```ts
   * import { openLog } from 'weft/log';
   * const [log, writer] = await openLog('/tmp/app.log');
   * await log.writeMany(['a', 'b', 'c']);
   * log.close();
   * await writer.done;
   * ```
   */
  writeMany(lines: readonly string[]): Promise<void> {
    const bad = checkLines(lines);
    if (bad !== undefined) return Promise.reject(bad);
    const copy = lines.slice();
    if (this.#closing) return Promise.reject(closedError(copy, new ClosedHandleError('writeMany')));
    if (this.#group !== undefined) this.#sendGroup();
    return this.#send({ lines: copy }).then(undefined, (e: unknown) => {
      throw closedError(copy, e);
    });
  }

  /**
   * Durable write: resolves only once `line` is on disk — written and the
   * file synced (`fdatasync`). Many durable writes in flight at once, from
   * any number of producers, share one sync (group commit): keep several in
   * flight for throughput, they complete in order. Rejects with
   * {@link LogLineError}, {@link LogClosedError} (not written), or
   * {@link LogIOError} (a disk error: the line may or may not be on disk);
   * the line is in the error's `.lines`.
   *
   * @example
   * ```ts
   * import { openLog } from 'weft/log';
   * const [log, writer] = await openLog('/tmp/payments.log');
   * await log.writeDurable(JSON.stringify({ id: 1, amount: 5 }));
   * // survives kill -9 and power loss from here on
   * log.close();
   * await writer.done;
   * ```
   */
  writeDurable(line: string): Promise<void> {
    const why = lineProblem(line);
    if (why !== undefined) return Promise.reject(new LogLineError(why, line));
    return this.#durable([line]);
  }

  /**
   * Durable write of several lines, in order, in one batch, with one answer
   * for all: resolves once every one of them is on disk. Rejects like
   * {@link LogProducer.writeDurable}.
   *
   * @example
   * ```ts
   * import { openLog } from 'weft/log';
   * const [log, writer] = await openLog('/tmp/app.log');
   * await log.writeManyDurable(['debit 5', 'credit 5']); // both on disk
   * log.close();
   * await writer.done;
   * ```
   */
  writeManyDurable(lines: readonly string[]): Promise<void> {
    const bad = checkLines(lines);
    if (bad !== undefined) return Promise.reject(bad);
    return this.#durable(lines.slice());
  }

  /**
   * Resolves once every line this handle sent before (fire-and-forget ones
   * included) is on disk.
   *
   * @example
   * ```ts
   * import { openLog } from 'weft/log';
   * const [log, writer] = await openLog('/tmp/app.log');
   * for (let i = 0; i < 100; i++) await log.write(`line ${i}`);
   * await log.flush(); // all 100 on disk
   * log.close();
   * await writer.done;
   * ```
   */
  flush(): Promise<void> {
    return this.#durable([]);
  }

  /**
   * Another producer handle on the same writer (a clone of the Sender, with
   * the same options). Close every clone when done.
   *
   * @example
   * ```ts
   * import { openLog } from 'weft/log';
   * const [log, writer] = await openLog('/tmp/app.log');
   * const a = log.clone(), b = log.clone();
   * log.close();
   * await Promise.all([a.write('from a'), b.write('from b')]);
   * a.close(); b.close();
   * await writer.done;
   * ```
   */
  clone(): LogProducer {
    if (this.#closing) throw new ClosedHandleError('clone');
    return new LogProducer(this.#tx.clone(), { replyChannel: this.#replyChannel });
  }

  /**
   * Closes this handle: later calls fail with {@link LogClosedError}. Writes
   * already made still go through — the Sender itself closes once the last
   * of them has been handed to the channel. Closing twice does nothing.
   *
   * @example
   * ```ts
   * import { openLog } from 'weft/log';
   * const [log, writer] = await openLog('/tmp/app.log');
   * { using mine = log.clone(); await mine.write('scoped'); } // closed here
   * log.close();
   * await writer.done;
   * ```
   */
  close(): void {
    if (this.#closing) return;
    this.#closing = true;
    if (this.#group !== undefined) this.#sendGroup();
    if (this.#sending === 0) this.#tx.close();
  }

  /** Same as {@link LogProducer.close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Sends `cmd`, waiting for room; tracks the wait so that close() can let it finish. */
  #send(cmd: LogCommand): Promise<void> {
    this.#sending++;
    return this.#tx.send(cmd).then(
      () => this.#sent(),
      (e: unknown) => {
        this.#sent();
        throw e;
      },
    );
  }

  #sent(): void {
    if (--this.#sending === 0 && this.#closing) this.#tx.close();
  }

  #durable(lines: readonly string[]): Promise<void> {
    if (this.#closing) return Promise.reject(closedError(lines, new ClosedHandleError('writeDurable')));
    let g = this.#group;
    if (g !== undefined && g.lines.length > 0 && g.lines.length + lines.length > GROUP_MAX) {
      this.#sendGroup();
      g = undefined;
    }
    if (g === undefined) {
      g = this.#group = { lines: [], waiting: [] };
      setImmediate(() => {
        if (this.#group === g) this.#sendGroup();
      });
    }
    const group = g;
    for (let i = 0; i < lines.length; i++) group.lines.push(lines[i]!);
    return new Promise<void>((resolve, reject) => {
      group.waiting.push({ lines, resolve, reject });
    });
  }

  /** Sends the gathered durable writes as one command and settles them from its answer. */
  #sendGroup(): void {
    const g = this.#group!;
    this.#group = undefined;
    void this.#deliver(g);
  }

  async #deliver(g: Group): Promise<void> {
    let reply: Sender<LogAck>;
    let answer: Receiver<LogAck>;
    try {
      [reply, answer] = this.#replyChannel();
    } catch (e) {
      for (const w of g.waiting) w.reject(e);
      return;
    }
    const cmd: LogCommand = g.lines.length === 1 ? { line: g.lines[0]!, reply } : { lines: g.lines, reply };
    try {
      await this.#send(cmd);
    } catch (e) {
      reply.close(); // never delivered: still ours
      answer.close();
      for (const w of g.waiting) w.reject(closedError(w.lines, e));
      return;
    }
    let ack: LogAck;
    try {
      ack = await answer.recv();
    } catch (e) {
      for (const w of g.waiting) {
        w.reject(
          e instanceof RecvError
            ? new LogClosedError(w.lines, 'the log writer stopped before confirming them (they may or may not be on disk)', { cause: e })
            : e,
        );
      }
      return;
    } finally {
      answer.close();
    }
    if (ack.ok) for (const w of g.waiting) w.resolve();
    else for (const w of g.waiting) w.reject(errorOfAck(ack, w.lines));
  }
}

/** The error of a send that the writer's channel refused. */
function closedError(lines: readonly string[], e: unknown): Error {
  if (e instanceof ClosedHandleError) return new LogClosedError(lines, 'this producer handle is closed', { cause: e });
  if (e instanceof SendError || e instanceof TrySendError) {
    return new LogClosedError(lines, 'the log writer is closed (closed, finished, or stopped by a disk error)', { cause: e });
  }
  return e instanceof Error ? e : new LogClosedError(lines, String(e), { cause: e });
}
