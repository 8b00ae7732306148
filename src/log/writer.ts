/**
 * The log writer: a component that owns one log file and the Receiver of its
 * commands, batches lines, and writes them in order.
 *
 * It runs as two small loops joined by a rendezvous channel:
 *
 * - the **batcher** receives commands and builds a batch. It hands the batch
 *   over as soon as the committer is free to take it (or, with
 *   `maxDelayMs`, at the latest that long after the batch's first line),
 *   and stops receiving while the batch is full (`maxBatchBytes`,
 *   `maxBatchLines`) — so when the disk is slow, the input channel fills
 *   and producers wait: memory stays bounded by the channel's capacity plus
 *   two batches.
 * - the **committer** writes each batch as one buffer, rotates the segment
 *   when it would pass `maxBytes`, and, if the batch holds durable writes,
 *   syncs the file once and answers all of them. While it writes or syncs,
 *   the batcher collects the next batch: that is the group commit — one
 *   `fdatasync` covers every durable write that arrived during the previous
 *   one.
 *
 * The writer stops at its first disk error (see {@link LogIOError}).
 *
 * @module
 */
import { resolve } from 'node:path';
import {
  after,
  bounded,
  ClosedHandleError,
  ready,
  select,
  send,
  TryRecvError,
  type Receiver,
  type SelectCases,
  type Sender,
} from '../channel/index.js';
import { ACK_OK, ackFailure, answer, checkLines, isReply, lineProblem, type LogAck, type LogCommand } from './command.js';
import { LogBusyError, LogError, LogIOError, LogLineError } from './errors.js';
import { Segment, type LogHooks, type LogRecovery } from './segment.js';

/**
 * Options of a log writer.
 *
 * @example
 * ```ts
 * import { openLog, type LogWriterOptions } from 'weft/log';
 * const options: LogWriterOptions = {
 *   maxBatchBytes: 256 * 1024, // write at most this much per batch
 *   maxDelayMs: 5,             // let a batch fill for up to 5 ms
 *   maxBytes: 64 << 20,        // rotate at 64 MiB: app.log.1, app.log.2, …
 *   keepSegments: 10,          // delete older closed segments
 *   onError: (e) => console.error(e),
 * };
 * const [log, writer] = await openLog('/tmp/app.log', options);
 * log.close(); await writer.done;
 * ```
 */
export interface LogWriterOptions {
  /**
   * Largest batch, in UTF-16 code units of its lines plus one per newline
   * (= bytes for ASCII text). A single command larger than this is written
   * as a batch of its own, never split. Default 1 MiB.
   */
  readonly maxBatchBytes?: number;
  /** Largest batch in lines. Default 65,536. */
  readonly maxBatchLines?: number;
  /**
   * Time batching: how long a batch that is not full may wait for more lines
   * after its first one, in ms. With 0 (the default) a batch is written as
   * soon as the disk is free — lines that arrive during a write or sync
   * still ride together in the next batch.
   */
  readonly maxDelayMs?: number;
  /**
   * Rotation: once writing the next batch would take the active file past
   * this many bytes, it is closed as `path.<n>` and a new one started.
   * Default: no rotation.
   */
  readonly maxBytes?: number;
  /** Closed segments to keep; older ones are deleted after a rotation. Default: all. */
  readonly keepSegments?: number;
  /**
   * `'data'` (default) syncs with `fdatasync`, which skips metadata not
   * needed to read the data back (timestamps); `'full'` uses `fsync`.
   */
  readonly sync?: 'data' | 'full';
  /** Wrappers around writes and syncs (observe, slow down, inject faults). */
  readonly hooks?: LogHooks;
  /**
   * Told about what no producer can be told: a refused fire-and-forget line
   * ({@link LogLineError}), a message that could not be received, and the
   * writer's failure ({@link LogIOError}, also the rejection of `done`).
   */
  readonly onError?: (error: LogError) => void;
}

/**
 * Counters of a log writer.
 *
 * @example
 * ```ts
 * import { openLog } from 'weft/log';
 * const [log, writer] = await openLog('/tmp/app.log');
 * await log.writeDurable('x');
 * const s = writer.stats;
 * console.log(s.lines, s.syncs, (s.lines / s.writes).toFixed(1) + ' lines per batch');
 * log.close(); await writer.done;
 * ```
 */
export interface LogStats {
  /** Lines written to the file (handed to the OS). */
  readonly lines: number;
  /** Bytes written. */
  readonly bytes: number;
  /** Batches written (one write each). */
  readonly writes: number;
  /** Syncs (`fdatasync`/`fsync`) done, including those of rotations and of the close. */
  readonly syncs: number;
  /** Durable writes and flushes confirmed. */
  readonly acks: number;
  /** Rotations done. */
  readonly rotations: number;
  /** Lines in the largest batch. */
  readonly largestBatch: number;
  /** Lines refused (not strings, or holding `'\n'`) and messages that could not be received. */
  readonly rejected: number;
  /** Lines accepted but not known to be written, because the writer failed. */
  readonly lost: number;
  /** The active segment. */
  readonly segment: string;
}

/** A batch being built or written. */
interface Batch {
  readonly lines: string[];
  /** Size estimate: code units of the lines plus newlines. */
  chars: number;
  /** Answers owed once this batch is on disk, in arrival order. */
  readonly replies: Sender<LogAck>[];
  /** When its first command arrived (performance.now()). */
  firstAt: number;
}

type MutableStats = { -readonly [K in keyof LogStats]: LogStats[K] };

const NEWLINE = 0x0a;
/** Receive errors in a row after which the input counts as broken. */
const MAX_RECEIVE_FAILURES = 100;
const NONE: unique symbol = Symbol('weft.log.none');
const DEFAULTS = { maxBatchBytes: 1 << 20, maxBatchLines: 65536 };

/** Paths owned by a writer of this process. */
const owned = new Set<string>();

function positive(what: string, v: number | undefined, fallback: number, allowZero = false): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || Number.isNaN(v) || v < 0 || (!allowZero && v === 0)) {
    throw new RangeError(`log writer: ${what} must be a number ${allowZero ? '>= 0' : '> 0'}, got ${String(v)}`);
  }
  return v;
}

/**
 * A component that owns one log file and consumes the `Receiver` of its
 * commands ({@link LogCommand}): any weft Receiver — a `bounded` channel in
 * this thread, or a shared-memory channel fed by worker threads. Producers
 * hold clones of the Sender (wrap them in {@link LogProducer}).
 *
 * The writer ends when every Sender is closed and everything sent is
 * written and synced (`done` resolves), or on {@link LogWriter.close}.
 *
 * @example
 * ```ts
 * import { bounded } from 'weft';
 * import { LogProducer, LogWriter, type LogCommand } from 'weft/log';
 * const [tx, rx] = bounded<LogCommand>(1024);       // bounded: backpressure
 * const writer = await LogWriter.open('/tmp/app.log', rx, { maxBytes: 1 << 20 });
 * const log = new LogProducer(tx);
 * await log.writeDurable('started');
 * log.close();
 * console.log(await writer.done);                    // stats, once all is on disk
 * ```
 */
export class LogWriter implements AsyncDisposable {
  /** The active segment's absolute path. */
  readonly path: string;
  /** What opening the file found and repaired. */
  readonly recovery: LogRecovery;
  /**
   * Resolves with the final stats once the writer has ended — input
   * finished or `close()` called, everything written, synced and the file
   * closed — or rejects with the {@link LogIOError} that stopped it.
   */
  readonly done: Promise<LogStats>;

  readonly #input: Receiver<LogCommand>;
  readonly #segment: Segment;
  readonly #stopTx: Sender<never>;
  readonly #stopRx: Receiver<never>;
  readonly #batchesTx: Sender<Batch>;
  readonly #batchesRx: Receiver<Batch>;
  readonly #maxBatchChars: number;
  readonly #maxBatchLines: number;
  readonly #linger: number;
  readonly #onError: ((error: LogError) => void) | undefined;
  readonly #stats: MutableStats;
  #failure: LogIOError | undefined;
  #ended = false;
  #closing = false;
  #scratch: Buffer = Buffer.allocUnsafe(64 * 1024);

  private constructor(path: string, input: Receiver<LogCommand>, segment: Segment, recovery: LogRecovery, options: LogWriterOptions) {
    this.path = path;
    this.recovery = recovery;
    this.#input = input;
    this.#segment = segment;
    this.#maxBatchChars = positive('maxBatchBytes', options.maxBatchBytes, DEFAULTS.maxBatchBytes);
    this.#maxBatchLines = positive('maxBatchLines', options.maxBatchLines, DEFAULTS.maxBatchLines);
    this.#linger = positive('maxDelayMs', options.maxDelayMs, 0, true);
    this.#onError = options.onError;
    this.#stats = { lines: 0, bytes: 0, writes: 0, syncs: 0, acks: 0, rotations: 0, largestBatch: 0, rejected: 0, lost: 0, segment: path };
    [this.#stopTx, this.#stopRx] = bounded<never>(0);
    [this.#batchesTx, this.#batchesRx] = bounded<Batch>(0);
    const loops = Promise.all([this.#batchLoop(), this.#commitLoop()]);
    this.done = loops.then(() => {
      this.#ended = true;
      this.#stopTx.close();
      owned.delete(this.path);
      if (this.#failure !== undefined) throw this.#failure;
      return this.stats;
    });
    // The failure is reported through onError, `failure` and close(); awaiting
    // `done` still rejects, but an unobserved `done` must not crash the process.
    this.done.catch(() => undefined);
  }

  /**
   * Opens (creating if needed) the log at `path`, repairs a torn last line
   * left by a crash, and starts writing what arrives on `input`. The writer
   * owns `input` from now on (it closes it when it ends — also when opening
   * fails, so that producers get errors instead of waiting forever).
   *
   * @throws {@link LogIOError} when the file cannot be opened or repaired,
   *   {@link LogBusyError} when a writer of this process owns it already,
   *   RangeError for a bad option.
   * @example
   * ```ts
   * import { bounded } from 'weft';
   * import { LogWriter, type LogCommand } from 'weft/log';
   * const [tx, rx] = bounded<LogCommand>(1024);
   * const writer = await LogWriter.open('/tmp/app.log', rx);
   * if (writer.recovery.truncatedBytes > 0) console.log('repaired a torn tail');
   * tx.close();
   * await writer.done;
   * ```
   */
  static async open(path: string, input: Receiver<LogCommand>, options: LogWriterOptions = {}): Promise<LogWriter> {
    const full = resolve(path);
    let segment: Segment | undefined;
    try {
      positive('maxBatchBytes', options.maxBatchBytes, 1);
      positive('maxBatchLines', options.maxBatchLines, 1);
      positive('maxDelayMs', options.maxDelayMs, 0, true);
      const maxBytes = positive('maxBytes', options.maxBytes, Infinity);
      const keepSegments = positive('keepSegments', options.keepSegments, Infinity, true);
      if (options.sync !== undefined && options.sync !== 'data' && options.sync !== 'full') {
        throw new RangeError(`log writer: sync must be 'data' or 'full', got ${String(options.sync)}`);
      }
      if (owned.has(full)) throw new LogBusyError(full);
      owned.add(full);
      try {
        const opened = await Segment.open(full, { maxBytes, keepSegments, fullSync: options.sync === 'full', hooks: options.hooks ?? {} });
        segment = opened.segment;
        return new LogWriter(full, input, opened.segment, opened.recovery, options);
      } catch (e) {
        owned.delete(full);
        throw e;
      }
    } catch (e) {
      await segment?.abandon();
      input.close();
      throw e;
    }
  }

  /** Counters, as of now. */
  get stats(): LogStats {
    return { ...this.#stats, syncs: this.#segment.syncs, segment: this.#segment.path };
  }

  /** The disk error that stopped the writer, if one did. */
  get failure(): LogIOError | undefined {
    return this.#failure;
  }

  /** True once the writer has ended (see {@link LogWriter.done}). */
  get isDone(): boolean {
    return this.#ended;
  }

  /**
   * Clean close: takes everything already sent (including sends waiting for
   * room, and durable writes made before this call in the same turn of the
   * event loop), closes the input so later writes fail with
   * {@link LogClosedError}, writes and syncs it all, closes the file, and
   * resolves with the final stats (like {@link LogWriter.done}).
   *
   * @example
   * ```ts
   * import { openLog } from 'weft/log';
   * const [log, writer] = await openLog('/tmp/app.log');
   * void log.write('still written');            // fire-and-forget, not awaited
   * const stats = await writer.close();         // … but on disk now
   * console.log(stats.lines); // 1
   * log.close();
   * ```
   */
  close(): Promise<LogStats> {
    // One macrotask later: durable writes that LogProducers gathered during
    // this turn (they send at its end) are taken too.
    if (!this.#closing) {
      this.#closing = true;
      setImmediate(() => this.#stopTx.close());
    }
    return this.done;
  }

  /** Same as {@link LogWriter.close}, for `await using` (a disk error is thrown from the scope). */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // ---- batcher ------------------------------------------------------------

  #newBatch(): Batch {
    return { lines: [], chars: 0, replies: [], firstAt: 0 };
  }

  #isFull(b: Batch): boolean {
    return b.lines.length >= this.#maxBatchLines || b.chars >= this.#maxBatchChars;
  }

  async #batchLoop(): Promise<void> {
    const input = this.#input;
    let batch = this.#newBatch();
    let open = true; // the input may still deliver
    let stopping = false; // close() was called, or the writer failed
    try {
      for (;;) {
        if (open && !this.#isFull(batch)) {
          open = this.#drain(batch);
          // close(): the input is empty at this instant, so closing it now
          // loses nothing; every later send fails and hands its value back.
          if (open && stopping && !this.#isFull(batch)) {
            input.close();
            open = false;
          }
        }
        const empty = batch.lines.length === 0 && batch.replies.length === 0;
        if (!open && empty) break;
        const full = this.#isFull(batch);
        const dueAt = batch.firstAt + this.#linger;
        const due = !empty && (full || !open || this.#linger === 0 || performance.now() >= dueAt);
        if (due) {
          if (this.#batchesTx.offer(batch)) {
            batch = this.#newBatch();
            continue;
          }
          // The committer is busy writing or syncing. Meanwhile new commands
          // wait in the input channel (and its parked sends): no need to wake
          // for each one. Wait until the committer is free, then go round:
          // top the batch up with everything that arrived, and hand it over.
          const cases: SelectCases = { handoff: send(this.#batchesTx, batch) };
          if (!stopping) cases['stop'] = this.#stopRx;
          if ((await ready(cases)) === 'stop') stopping = true;
          continue;
        }
        // Nothing due: the batch is empty, or lingers (maxDelayMs) for more.
        const cases: SelectCases = {};
        if (open) cases['input'] = input;
        if (!stopping) cases['stop'] = this.#stopRx;
        if (!empty) cases['linger'] = after(Math.max(0, dueAt - performance.now()));
        let r: { case: string; ok: boolean; value?: unknown };
        try {
          r = (await select(cases)) as typeof r;
        } catch (e) {
          // Closing the Receiver it handed over fails the waiting select: the input has ended.
          if (e instanceof ClosedHandleError && input.isClosed) {
            open = false;
            continue;
          }
          throw e;
        }
        if (r.case === 'input') {
          if (r.ok) this.#add(batch, r.value);
          else open = false;
        } else if (r.case === 'stop') {
          stopping = true;
        } // else linger: the batch is due now
      }
    } catch (e) {
      // A bug, not a disk error; still: stop cleanly and refuse the rest.
      const f = this.#fail(e);
      this.#failBatch(batch, f);
      for (const cmd of input.isClosed ? [] : drainAll(input)) this.#add(batch, cmd);
      this.#failBatch(batch, f);
    } finally {
      input.close();
      this.#batchesTx.close();
      this.#stopRx.close();
    }
  }

  /** Moves what is ready now into `b`, up to its limits. False once the input has ended. */
  #drain(b: Batch): boolean {
    const input = this.#input;
    let failures = 0;
    while (!this.#isFull(b)) {
      // Someone else closed the Receiver it handed over: that ends the input too.
      if (input.isClosed) return false;
      let v: LogCommand | typeof NONE;
      try {
        v = input.poll(NONE);
      } catch (e) {
        if (e instanceof TryRecvError) return false; // every Sender closed, all received
        // A message the channel could not deliver (e.g. undecodable on a
        // cross-thread channel): it is gone; report it and go on — unless the
        // channel keeps failing, which is a broken channel, not a bad message.
        if (++failures > MAX_RECEIVE_FAILURES) throw e;
        this.#stats.rejected++;
        this.#report(new LogError('log writer: a message could not be received and was dropped', { cause: e }));
        continue;
      }
      if (v === NONE) return true;
      failures = 0;
      this.#add(b, v);
    }
    return true;
  }

  /** Adds one command to `b` (or refuses it). Never throws. */
  #add(b: Batch, cmd: unknown): void {
    if (typeof cmd === 'string') {
      if (cmd.includes('\n')) return this.#refuse(new LogLineError('newline', cmd), undefined);
      if (this.#failure !== undefined) {
        this.#stats.lost++;
        return;
      }
      if (b.lines.length === 0 && b.replies.length === 0) b.firstAt = performance.now();
      b.lines.push(cmd);
      b.chars += cmd.length + 1;
      return;
    }
    let lines: readonly string[];
    let reply: Sender<LogAck> | undefined;
    {
      const c = (typeof cmd === 'object' && cmd !== null ? cmd : {}) as { line?: unknown; lines?: unknown; reply?: unknown };
      if (c.reply !== undefined) {
        if (!isReply(c.reply)) return this.#refuse(new LogLineError('not-a-string', cmd), undefined);
        reply = c.reply;
      }
      if ('line' in c) {
        const why = lineProblem(c.line);
        if (why !== undefined) return this.#refuse(new LogLineError(why, c.line), reply);
        lines = [c.line as string];
      } else if (Array.isArray(c.lines)) {
        const bad = checkLines(c.lines as unknown[]);
        if (bad !== undefined) return this.#refuse(bad, reply);
        lines = c.lines as string[];
      } else {
        return this.#refuse(new LogLineError('not-a-string', cmd), reply);
      }
    }
    if (this.#failure !== undefined) {
      this.#stats.lost += lines.length;
      if (reply !== undefined) answer(reply, ackFailure(this.#failure.forLines(lines)));
      return;
    }
    if (b.lines.length === 0 && b.replies.length === 0) b.firstAt = performance.now();
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      b.lines.push(line);
      b.chars += line.length + 1;
    }
    if (reply !== undefined) b.replies.push(reply);
  }

  #refuse(e: LogLineError, reply: Sender<LogAck> | undefined): void {
    this.#stats.rejected += Math.max(1, e.lines.length);
    if (reply !== undefined) answer(reply, ackFailure(e));
    else this.#report(e);
  }

  // ---- committer ----------------------------------------------------------

  async #commitLoop(): Promise<void> {
    const rx = this.#batchesRx;
    for (;;) {
      let batch: Batch;
      try {
        batch = await rx.recv();
      } catch {
        break; // the batcher is done
      }
      if (this.#failure !== undefined) {
        this.#failBatch(batch, this.#failure);
        continue;
      }
      try {
        await this.#commit(batch);
      } catch (e) {
        this.#failBatch(batch, this.#fail(e));
      }
    }
    rx.close();
    if (this.#failure === undefined) {
      try {
        await this.#segment.close();
        return;
      } catch (e) {
        this.#fail(e);
      }
    }
    await this.#segment.abandon();
  }

  async #commit(b: Batch): Promise<void> {
    const seg = this.#segment;
    const n = b.lines.length;
    if (n > 0) {
      const buf = this.#encode(b.lines);
      if (seg.wouldOverflow(buf.length)) {
        await seg.rotate();
        this.#stats.rotations++;
      }
      await seg.write(buf, n);
      const s = this.#stats;
      s.lines += n;
      s.bytes += buf.length;
      s.writes++;
      if (n > s.largestBatch) s.largestBatch = n;
    }
    if (b.replies.length > 0) {
      await seg.sync();
      for (const reply of b.replies) answer(reply, ACK_OK);
      this.#stats.acks += b.replies.length;
    }
  }

  /**
   * The batch as one buffer of lines, each ending in '\n'. Encoded into a
   * scratch buffer reused from batch to batch (writes are sequential, so the
   * previous write is done with it), which grows to the largest batch.
   */
  #encode(lines: readonly string[]): Buffer {
    let buf = this.#scratch;
    let off = 0;
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      // A UTF-16 code unit takes at most 3 bytes in UTF-8.
      if (off + line.length * 3 + 1 > buf.length) {
        const bigger = Buffer.allocUnsafe(Math.max(buf.length * 2, off + line.length * 3 + 1));
        buf.copy(bigger, 0, 0, off);
        buf = this.#scratch = bigger;
      }
      off += buf.write(line, off, 'utf8');
      buf[off++] = NEWLINE;
    }
    return buf.subarray(0, off);
  }

  // ---- failure ------------------------------------------------------------

  /** Records the first failure, stops the batcher, reports. Returns the failure. */
  #fail(e: unknown): LogIOError {
    if (this.#failure !== undefined) return this.#failure;
    const f = LogIOError.from('write', this.path, e);
    this.#failure = f;
    this.#stopTx.close();
    this.#report(f);
    return f;
  }

  #failBatch(b: Batch, f: LogIOError): void {
    this.#stats.lost += b.lines.length;
    const ack = ackFailure(f);
    for (const reply of b.replies) answer(reply, ack);
    b.lines.length = 0;
    b.replies.length = 0;
    b.chars = 0;
  }

  #report(e: LogError): void {
    if (this.#onError === undefined) return;
    try {
      this.#onError(e);
    } catch {
      // a throwing error handler must not stop the writer
    }
  }
}

/** Everything ready on `rx` now (used only when stopping after a bug). */
function drainAll(rx: Receiver<LogCommand>): LogCommand[] {
  const out: LogCommand[] = [];
  try {
    rx.tryRecvMany(out);
  } catch {
    // nothing more to take
  }
  return out;
}
