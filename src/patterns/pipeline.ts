/**
 * Pipelines: a source, stages connected by bounded channels, and a sink.
 *
 * - Shutdown cascades with no quit messages: when the source ends, each
 *   stage finishes what it has and closes its output, so the next one ends.
 * - Backpressure is end to end: every link is a bounded channel, so a slow
 *   sink slows every stage and the source, and memory stays bounded.
 * - A failure anywhere (a stage, the source, the sink) stops the pipeline
 *   at once: every channel is closed, every stage's signal aborts, streams
 *   are cancelled, and the pipeline rejects with that first error.
 *
 * @module
 */
import { bounded, Receiver, Sender } from '../channel/index.js';
import { drain, isSink, pump, type EndpointSink, type Sink, type SinkFn, type Source } from './ends.js';
import type { Ctl } from './flow.js';
import { runStage, toStage, type Stage, type StageFn } from './stage.js';

/**
 * A pipeline stage: a plain function (one item at a time), or a {@link Stage} from `stage(fn, options)`.
 *
 * @example
 * ```ts
 * import { stage, type StageLike } from 'weft';
 * const double: StageLike<number, number> = (n) => n * 2;
 * const slowDouble: StageLike<number, number> = stage(async (n: number) => n * 2, { concurrency: 8 });
 * console.log(typeof double, slowDouble.concurrency); // 'function' 8
 * ```
 */
export type StageLike<A, B> = StageFn<A, B> | Stage<A, B>;

/**
 * Options of {@link pipeline}.
 *
 * @example
 * ```ts
 * import { pipeline, type PipelineOptions } from 'weft';
 * const options: PipelineOptions = { capacity: 64, signal: AbortSignal.timeout(60_000) };
 * await pipeline([1, 2], (n) => n + 1, async (xs) => { for await (const x of xs) console.log(x); }, options);
 * ```
 */
export interface PipelineOptions {
  /** Cancels the pipeline: it rejects with `signal.reason`. */
  readonly signal?: AbortSignal;
  /** Capacity of each link between stages (a stage's own `capacity` wins). Default 16. */
  readonly capacity?: number;
}

const DEFAULT_CAPACITY = 16;

/**
 * Runs `source` through the stages into `sink`, each link a bounded
 * channel. Resolves when the sink has taken everything (with the sink
 * function's result, if the sink is a function); rejects with the first
 * error of any part, after cancelling the rest.
 *
 * The pipeline owns what it is given: a source Receiver and a sink Sender
 * are closed when it ends (on failure too: downstream of a sink Sender
 * then sees a normal end, so watch the pipeline's promise for errors).
 * When the sink stops early (a sink function returning before the end, or
 * every Receiver of a sink Sender closing) the pipeline stops the stages
 * and the source, and that is not an error.
 *
 * @example
 * ```ts
 * import { pipeline, stage } from 'weft';
 * const total = await pipeline(
 *   [1, 2, 3, 4],                                                  // source
 *   (n) => n * 10,                                                 // a stage: number → number
 *   stage(async (n: number) => `#${n}`, { concurrency: 4 }),       // number → string, 4 at a time, in order
 *   async (items) => { let s = ''; for await (const x of items) s += x; return s; }, // sink
 * );
 * console.log(total); // '#10#20#30#40'
 * ```
 */
export function pipeline<A, R>(source: Source<A>, sink: SinkFn<A, R>, options?: PipelineOptions): Promise<R>;
export function pipeline<A>(source: Source<A>, sink: EndpointSink<A>, options?: PipelineOptions): Promise<void>;
export function pipeline<A, B, R>(source: Source<A>, s1: StageLike<A, B>, sink: SinkFn<B, R>, options?: PipelineOptions): Promise<R>;
export function pipeline<A, B>(source: Source<A>, s1: StageLike<A, B>, sink: EndpointSink<B>, options?: PipelineOptions): Promise<void>;
export function pipeline<A, B, C, R>(
  source: Source<A>,
  s1: StageLike<A, B>,
  s2: StageLike<B, C>,
  sink: SinkFn<C, R>,
  options?: PipelineOptions,
): Promise<R>;
export function pipeline<A, B, C>(
  source: Source<A>,
  s1: StageLike<A, B>,
  s2: StageLike<B, C>,
  sink: EndpointSink<C>,
  options?: PipelineOptions,
): Promise<void>;
export function pipeline<A, B, C, D, R>(
  source: Source<A>,
  s1: StageLike<A, B>,
  s2: StageLike<B, C>,
  s3: StageLike<C, D>,
  sink: SinkFn<D, R>,
  options?: PipelineOptions,
): Promise<R>;
export function pipeline<A, B, C, D>(
  source: Source<A>,
  s1: StageLike<A, B>,
  s2: StageLike<B, C>,
  s3: StageLike<C, D>,
  sink: EndpointSink<D>,
  options?: PipelineOptions,
): Promise<void>;
export function pipeline<A, B, C, D, E, R>(
  source: Source<A>,
  s1: StageLike<A, B>,
  s2: StageLike<B, C>,
  s3: StageLike<C, D>,
  s4: StageLike<D, E>,
  sink: SinkFn<E, R>,
  options?: PipelineOptions,
): Promise<R>;
export function pipeline<A, B, C, D, E>(
  source: Source<A>,
  s1: StageLike<A, B>,
  s2: StageLike<B, C>,
  s3: StageLike<C, D>,
  s4: StageLike<D, E>,
  sink: EndpointSink<E>,
  options?: PipelineOptions,
): Promise<void>;
export function pipeline<A, B, C, D, E, F, R>(
  source: Source<A>,
  s1: StageLike<A, B>,
  s2: StageLike<B, C>,
  s3: StageLike<C, D>,
  s4: StageLike<D, E>,
  s5: StageLike<E, F>,
  sink: SinkFn<F, R>,
  options?: PipelineOptions,
): Promise<R>;
export function pipeline<A, B, C, D, E, F>(
  source: Source<A>,
  s1: StageLike<A, B>,
  s2: StageLike<B, C>,
  s3: StageLike<C, D>,
  s4: StageLike<D, E>,
  s5: StageLike<E, F>,
  sink: EndpointSink<F>,
  options?: PipelineOptions,
): Promise<void>;
export function pipeline<A, B, C, D, E, F, G, R>(
  source: Source<A>,
  s1: StageLike<A, B>,
  s2: StageLike<B, C>,
  s3: StageLike<C, D>,
  s4: StageLike<D, E>,
  s5: StageLike<E, F>,
  s6: StageLike<F, G>,
  sink: SinkFn<G, R>,
  options?: PipelineOptions,
): Promise<R>;
export function pipeline<A, B, C, D, E, F, G>(
  source: Source<A>,
  s1: StageLike<A, B>,
  s2: StageLike<B, C>,
  s3: StageLike<C, D>,
  s4: StageLike<D, E>,
  s5: StageLike<E, F>,
  s6: StageLike<F, G>,
  sink: EndpointSink<G>,
  options?: PipelineOptions,
): Promise<void>;
export function pipeline<A, B, C, D, E, F, G, H, R>(
  source: Source<A>,
  s1: StageLike<A, B>,
  s2: StageLike<B, C>,
  s3: StageLike<C, D>,
  s4: StageLike<D, E>,
  s5: StageLike<E, F>,
  s6: StageLike<F, G>,
  s7: StageLike<G, H>,
  sink: SinkFn<H, R>,
  options?: PipelineOptions,
): Promise<R>;
export function pipeline<A, B, C, D, E, F, G, H>(
  source: Source<A>,
  s1: StageLike<A, B>,
  s2: StageLike<B, C>,
  s3: StageLike<C, D>,
  s4: StageLike<D, E>,
  s5: StageLike<E, F>,
  s6: StageLike<F, G>,
  s7: StageLike<G, H>,
  sink: EndpointSink<H>,
  options?: PipelineOptions,
): Promise<void>;
export function pipeline<A, B, C, D, E, F, G, H, I, R>(
  source: Source<A>,
  s1: StageLike<A, B>,
  s2: StageLike<B, C>,
  s3: StageLike<C, D>,
  s4: StageLike<D, E>,
  s5: StageLike<E, F>,
  s6: StageLike<F, G>,
  s7: StageLike<G, H>,
  s8: StageLike<H, I>,
  sink: SinkFn<I, R>,
  options?: PipelineOptions,
): Promise<R>;
export function pipeline<A, B, C, D, E, F, G, H, I>(
  source: Source<A>,
  s1: StageLike<A, B>,
  s2: StageLike<B, C>,
  s3: StageLike<C, D>,
  s4: StageLike<D, E>,
  s5: StageLike<E, F>,
  s6: StageLike<F, G>,
  s7: StageLike<G, H>,
  s8: StageLike<H, I>,
  sink: EndpointSink<I>,
  options?: PipelineOptions,
): Promise<void>;
export function pipeline(source: Source<unknown>, ...rest: unknown[]): Promise<unknown> {
  const options = isOptions(rest[rest.length - 1]) ? (rest.pop() as PipelineOptions) : {};
  if (rest.length === 0 || !isSink(rest[rest.length - 1])) {
    return Promise.reject(new TypeError('pipeline: the last argument (before options) must be a sink: a Sender, a function, or a writable stream'));
  }
  const sink = rest.pop() as Sink<unknown, unknown>;
  let stages: Stage<unknown, unknown>[];
  try {
    stages = rest.map((s) => toStage(s as StageLike<unknown, unknown>));
  } catch (e) {
    return Promise.reject(e);
  }
  return new Run(source, stages, sink, options).promise;
}

/** A trailing plain object that is not a sink is the options. */
function isOptions(x: unknown): boolean {
  if (typeof x !== 'object' || x === null || isSink(x)) return false;
  const proto: unknown = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

/** One running pipeline: wires the parts, and settles once. */
class Run implements Ctl {
  readonly promise: Promise<unknown>;
  private resolve!: (v: unknown) => void;
  private reject!: (e: unknown) => void;
  private readonly ac = new AbortController();
  private readonly handles: (Receiver<unknown> | Sender<unknown>)[] = [];
  private readonly external: AbortSignal | undefined;
  private settled = false;
  /** Stages with threads of their own: the pipeline settles after they stopped. */
  private readonly teardown: Promise<unknown>[] = [];

  constructor(source: Source<unknown>, stages: Stage<unknown, unknown>[], sink: Sink<unknown, unknown>, options: PipelineOptions) {
    this.promise = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.external = options.signal;
    if (this.external?.aborted) {
      // Cancelled before it started: touch no source, but release the channel ends handed over.
      if (source instanceof Receiver) source.close();
      if (sink instanceof Sender) sink.close();
      this.fail(this.external.reason);
      return;
    }
    this.external?.addEventListener('abort', this);
    try {
      this.wire(source, stages, sink, options.capacity ?? DEFAULT_CAPACITY);
    } catch (e) {
      this.fail(e);
    }
  }

  get signal(): AbortSignal {
    return this.ac.signal;
  }

  /** Source → stage → … → sink, each link a bounded channel. */
  private wire(source: Source<unknown>, stages: Stage<unknown, unknown>[], sink: Sink<unknown, unknown>, capacity: number): void {
    if (sink instanceof Sender) this.handles.push(sink);
    let input = this.sourceChannel(source, capacity);
    // A sink Sender is the last stage's output; with no stage, a copying stage feeds it.
    if (sink instanceof Sender && stages.length === 0) stages = [toStage((v: unknown) => v)];
    stages.forEach((s, i) => {
      const last = i === stages.length - 1;
      const [tx, rx] = last && sink instanceof Sender ? [sink, undefined] : this.link(s.capacity ?? capacity);
      const running = runStage(s, input, tx, this);
      if (s.threads > 0) this.teardown.push(running); // settle once its threads are gone
      if (rx === undefined) void running.then((whole) => this.succeed(undefined, !whole));
      else input = rx;
    });
    if (!(sink instanceof Sender)) {
      void drain(sink, input, this).then((r) => r !== undefined && this.succeed(r.result, r.early));
    }
  }

  private sourceChannel(source: Source<unknown>, capacity: number): Receiver<unknown> {
    if (source instanceof Receiver) {
      this.handles.push(source);
      return source;
    }
    const [tx, rx] = this.link(capacity);
    void pump(source, tx, this);
    return rx;
  }

  private link(capacity: number): [Sender<unknown>, Receiver<unknown>] {
    const pair = bounded<unknown>(capacity);
    this.handles.push(...pair);
    return pair;
  }

  fail(error: unknown): void {
    if (this.settled) return;
    this.settle();
    this.ac.abort(error);
    this.closeAll();
    this.after(() => this.reject(error));
  }

  /** The sink is done. If it stopped early, stop whatever still runs upstream. */
  private succeed(result: unknown, early: boolean): void {
    if (this.settled) return;
    this.settle();
    if (early) this.ac.abort();
    this.closeAll();
    this.after(() => this.resolve(result));
  }

  /** Runs `settle` once every stage's own threads have stopped. */
  private after(settle: () => void): void {
    if (this.teardown.length === 0) settle();
    else void Promise.all(this.teardown).then(settle);
  }

  /** The external signal's listener. */
  handleEvent(): void {
    this.fail(this.external?.reason);
  }

  private settle(): void {
    this.settled = true;
    this.external?.removeEventListener('abort', this);
  }

  private closeAll(): void {
    for (const h of this.handles) h.close();
  }
}
