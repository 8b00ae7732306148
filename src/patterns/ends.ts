/**
 * The two ends of a pipeline: what feeds it (a source) and what it feeds (a
 * sink), adapted to weft channels. Streams are recognised by shape, so this
 * file needs no Node or DOM import and runs wherever weft runs.
 *
 * @module
 */
import { Receiver, Sender } from '../channel/index.js';
import { Fair, isThenable } from './fair.js';
import { END, Inbox, put, type Ctl } from './flow.js';

/**
 * A Web `ReadableStream`, by shape.
 *
 * @example
 * ```ts
 * import { pipeline, type ReadableStreamLike } from 'weft';
 * const stream: ReadableStreamLike<string> = new ReadableStream<string>({ start(c) { c.enqueue('a'); c.close(); } });
 * await pipeline(stream, (s) => s.toUpperCase(), async (xs) => { for await (const x of xs) console.log(x); }); // 'A'
 * ```
 */
export interface ReadableStreamLike<T> {
  getReader(): {
    read(): PromiseLike<{ readonly done: false; readonly value: T } | { readonly done: true; readonly value?: unknown }>;
    cancel(reason?: unknown): PromiseLike<unknown>;
  };
}

/**
 * A Web `WritableStream`, by shape.
 *
 * @example
 * ```ts
 * import { pipeline, type WritableStreamLike } from 'weft';
 * const out: string[] = [];
 * const sink: WritableStreamLike<string> = new WritableStream<string>({ write: (s) => void out.push(s) });
 * await pipeline(['a', 'b'], (s) => s + '!', sink);
 * console.log(out); // ['a!', 'b!']
 * ```
 */
export interface WritableStreamLike<T> {
  getWriter(): {
    readonly ready: PromiseLike<unknown>;
    write(chunk: T): PromiseLike<unknown>;
    close(): PromiseLike<unknown>;
    abort(reason?: unknown): PromiseLike<unknown>;
  };
}

/**
 * A Node.js `Writable` (object mode for non-byte items), by shape.
 *
 * @example
 * ```ts
 * import { Writable } from 'node:stream';
 * import { pipeline, type NodeWritableLike } from 'weft';
 * const sink: NodeWritableLike<number> = new Writable({ objectMode: true, write: (n, _enc, done) => { console.log(n); done(); } });
 * await pipeline([1, 2], (n) => n * 2, sink); // 2, 4
 * ```
 */
export interface NodeWritableLike<T> {
  write(chunk: T): boolean;
  end(): unknown;
  once(event: string, listener: (...args: never[]) => void): unknown;
  removeListener(event: string, listener: (...args: never[]) => void): unknown;
  destroy(error?: Error): unknown;
  readonly destroyed?: boolean;
  readonly writableFinished?: boolean;
  readonly errored?: Error | null;
}

/**
 * What a pipeline can read from: a weft Receiver (the pipeline takes it over
 * and closes it), an iterable or async iterable (generators, arrays, Node
 * `Readable`s in object mode), or a Web `ReadableStream`.
 *
 * @example
 * ```ts
 * import { Readable } from 'node:stream';
 * import { pipeline, type Source } from 'weft';
 * async function* ticks() { yield 1; yield 2; }
 * const sources: Source<number>[] = [[1, 2], ticks(), Readable.from([1, 2])];
 * for (const s of sources) await pipeline(s, (n) => n, async (xs) => { for await (const x of xs) console.log(x); });
 * ```
 */
export type Source<T> = Receiver<T> | Iterable<T> | AsyncIterable<T> | ReadableStreamLike<T>;

/**
 * A function that consumes a pipeline's output. It gets the last channel's
 * Receiver (iterate it, or batch with `recvMany`); what it returns is the
 * pipeline's result. Returning before the end stops the pipeline early —
 * not an error.
 *
 * @example
 * ```ts
 * import { pipeline, type SinkFn } from 'weft';
 * const firstTwo: SinkFn<number, number[]> = async (items) => {
 *   const out: number[] = [];
 *   for await (const n of items) if (out.push(n) === 2) break;
 *   return out;
 * };
 * console.log(await pipeline([5, 6, 7, 8], (n) => n, firstTwo)); // [5, 6]
 * ```
 */
export type SinkFn<T, R> = (items: Receiver<T>, signal: AbortSignal) => R | PromiseLike<R>;

/**
 * A sink that is a destination rather than a function: a weft Sender (the
 * pipeline takes it over and closes it at the end), a Web `WritableStream`,
 * or a Node `Writable`.
 *
 * @example
 * ```ts
 * import { bounded, pipeline, type EndpointSink } from 'weft';
 * const [tx, rx] = bounded<string>(4);
 * const sink: EndpointSink<string> = tx;            // the pipeline closes it at the end
 * await pipeline(['x'], (s) => s + s, sink);
 * console.log(await rx.recv()); // 'xx'
 * ```
 */
export type EndpointSink<T> = Sender<T> | WritableStreamLike<T> | NodeWritableLike<T>;

/**
 * What a pipeline writes to: an {@link EndpointSink} or a {@link SinkFn}.
 *
 * @example
 * ```ts
 * import { unbounded, type Sink } from 'weft';
 * const sinks: Sink<number, number>[] = [unbounded<number>()[0], async (xs) => xs.len];
 * console.log(sinks.length); // 2
 * ```
 */
export type Sink<T, R = void> = EndpointSink<T> | SinkFn<T, R>;

/** Reads a source one item at a time. */
interface Pull<T> {
  next(): T | typeof END | PromiseLike<T | typeof END>;
  cancel(): void;
}

function ignore(): void {}

function pullFrom<T>(source: Exclude<Source<T>, Receiver<T>>): Pull<T> {
  if (typeof (source as ReadableStreamLike<T>).getReader === 'function') {
    const reader = (source as ReadableStreamLike<T>).getReader();
    return {
      next: () => reader.read().then((r) => (r.done ? END : r.value)),
      cancel: () => void Promise.resolve(reader.cancel()).catch(ignore),
    };
  }
  if (Symbol.asyncIterator in source) {
    const it = (source as AsyncIterable<T>)[Symbol.asyncIterator]();
    const destroy = (source as { destroy?: unknown }).destroy;
    return {
      next: () => it.next().then((r) => (r.done === true ? END : r.value)),
      cancel: () => {
        if (typeof destroy === 'function') destroy.call(source); // a Node stream: do not wait for a pending read
        void Promise.resolve(it.return?.()).catch(ignore);
      },
    };
  }
  if (Symbol.iterator in source) {
    const it = (source as Iterable<T>)[Symbol.iterator]();
    return {
      next: () => {
        const r = it.next();
        return r.done === true ? END : r.value;
      },
      cancel: () => {
        try {
          it.return?.();
        } catch {
          // the source's own cleanup failed while we were abandoning it
        }
      },
    };
  }
  throw new TypeError('pipeline: a source must be a Receiver, an iterable, an async iterable or a ReadableStream');
}

/**
 * Copies `source` into `tx` until it ends (then closes `tx`) or nobody
 * receives any more (then abandons the source). @internal
 */
export async function pump<T>(source: Exclude<Source<T>, Receiver<T>>, tx: Sender<T>, ctl: Ctl): Promise<void> {
  let pull: Pull<T> | undefined;
  let finished = false;
  const cancel = (): void => pull?.cancel();
  ctl.signal.addEventListener('abort', cancel);
  try {
    pull = pullFrom(source);
    const fair = new Fair();
    for (;;) {
      if (ctl.signal.aborted) return;
      let v = pull.next();
      if (isThenable(v)) v = await v;
      if (v === END) return void (finished = true);
      if (ctl.signal.aborted) return;
      let ok = put(tx, v);
      if (isThenable(ok)) ok = await ok;
      if (!ok) return;
      const y = fair.turn();
      if (y !== undefined) await y;
    }
  } catch (e) {
    ctl.fail(e);
  } finally {
    ctl.signal.removeEventListener('abort', cancel);
    if (!finished && !ctl.signal.aborted) cancel();
    tx.close();
  }
}

/** True when `x` is a Sender, a function, or a writable stream: something {@link drain} accepts. @internal */
export function isSink(x: unknown): boolean {
  if (x instanceof Sender || typeof x === 'function') return true;
  const o = x as Partial<WritableStreamLike<unknown> & NodeWritableLike<unknown>> | null;
  return typeof o?.getWriter === 'function' || (typeof o?.write === 'function' && typeof o.once === 'function');
}

/**
 * Feeds `rx` into a sink other than a Sender. Resolves with the sink
 * function's result, and whether the sink stopped before the end. @internal
 */
export async function drain<T, R>(
  sink: Exclude<Sink<T, R>, Sender<T>>,
  rx: Receiver<T>,
  ctl: Ctl,
): Promise<{ result: R | undefined; early: boolean } | undefined> {
  try {
    if (typeof sink === 'function') {
      let result = sink(rx, ctl.signal);
      if (isThenable(result)) result = await result;
      return { result, early: !(rx.isDisconnected && rx.isEmpty) };
    }
    if (typeof (sink as WritableStreamLike<T>).getWriter === 'function') await toWeb(rx, sink as WritableStreamLike<T>, ctl.signal);
    else await toNode(rx, sink as NodeWritableLike<T>, ctl);
    return { result: undefined, early: false };
  } catch (e) {
    ctl.fail(e);
    return undefined;
  } finally {
    rx.close();
  }
}

async function toWeb<T>(rx: Receiver<T>, ws: WritableStreamLike<T>, signal: AbortSignal): Promise<void> {
  const writer = ws.getWriter();
  const abort = (): void => void Promise.resolve(writer.abort(signal.reason)).catch(ignore);
  signal.addEventListener('abort', abort);
  try {
    const fair = new Fair();
    const inbox = new Inbox(rx);
    for (;;) {
      let v = inbox.take();
      if (isThenable(v)) v = await v;
      if (v === END || signal.aborted) break;
      await writer.ready; // rejects once the stream errored
      Promise.resolve(writer.write(v)).catch(ignore); // a failed write surfaces through `ready` / `close`
      const y = fair.turn();
      if (y !== undefined) await y;
    }
    if (!signal.aborted) await writer.close();
  } finally {
    signal.removeEventListener('abort', abort);
  }
}

async function toNode<T>(rx: Receiver<T>, w: NodeWritableLike<T>, ctl: Ctl): Promise<void> {
  const signal = ctl.signal;
  const destroy = (): void => void w.destroy(signal.reason instanceof Error ? signal.reason : undefined);
  const onError = (e: Error): void => ctl.fail(e); // an unheard 'error' would crash the process
  signal.addEventListener('abort', destroy);
  w.once('error', onError);
  try {
    const inbox = new Inbox(rx);
    for (;;) {
      let v = inbox.take();
      if (isThenable(v)) v = await v;
      if (v === END || signal.aborted) break;
      if (!w.write(v)) await settled(w, 'drain');
    }
    if (signal.aborted) return;
    w.end();
    if (w.writableFinished !== true) await settled(w, 'finish');
  } finally {
    signal.removeEventListener('abort', destroy);
    w.removeListener('error', onError);
  }
}

/** Waits for `event` on a Node stream; rejects on 'error', or on 'close' before it. */
function settled(w: NodeWritableLike<unknown>, event: 'drain' | 'finish'): Promise<void> {
  if (w.destroyed === true) return Promise.reject(w.errored ?? new Error(`pipeline: the Writable was destroyed before '${event}'`));
  return new Promise<void>((resolve, reject) => {
    const off = (): void => {
      w.removeListener(event, onEvent);
      w.removeListener('error', onError);
      w.removeListener('close', onClose);
    };
    const onEvent = (): void => {
      off();
      resolve();
    };
    const onError = (e: Error): void => {
      off();
      reject(e);
    };
    const onClose = (): void => {
      off();
      reject(w.errored ?? new Error(`pipeline: the Writable closed before '${event}'`));
    };
    w.once(event, onEvent);
    w.once('error', onError);
    w.once('close', onClose);
  });
}
