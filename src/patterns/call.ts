/**
 * Request/reply over channels: put a one-shot reply Sender inside the
 * request, send it, and wait on the matching Receiver — article 000's
 * "cross-thread procedure call".
 *
 * A call never hangs on a vanished server: if the request cannot be
 * delivered, or its reply Sender is closed (or garbage-collected) without an
 * answer, the caller gets {@link ActorGoneError} as soon as that is known.
 *
 * @module
 */
import {
  bounded,
  RecvError,
  RecvTimeoutError,
  SendAbortedError,
  SendError,
  SendTimeoutError,
  WeftError,
  type Receiver,
  type Sender,
} from '../channel/index.js';
import { ActorGoneError, CallTimeoutError } from './errors.js';

/**
 * Options of {@link call}.
 *
 * @example
 * ```ts
 * import { bounded, call, CallTimeoutError, type CallOptions, type Sender } from 'weft';
 * const [tx, rx] = bounded<Sender<number>>(1);      // nobody answers
 * const options: CallOptions = { timeout: 10, signal: AbortSignal.timeout(1000) };
 * await call(tx, (reply) => reply, options).catch((e) => console.log(e instanceof CallTimeoutError)); // true
 * rx.close();
 * ```
 */
export interface CallOptions {
  /** Give up after this many ms (delivery and reply together) with {@link CallTimeoutError}. */
  readonly timeout?: number;
  /** Cancels the call; it rejects with `signal.reason`, and a late reply is discarded. */
  readonly signal?: AbortSignal;
}

/**
 * The answer type of request `X` sent on a channel of `C`: the type carried
 * by the `reply` Sender of the member of `C` that `X` is (or, when the
 * channel carries bare Senders, what they carry).
 *
 * @example
 * ```ts
 * import type { ReplyFor, Sender } from 'weft';
 * type Cmd = { type: 'get'; reply: Sender<number> } | { type: 'name'; reply: Sender<string> };
 * const n: ReplyFor<Cmd, { type: 'get'; reply: Sender<never> }> = 42; // number
 * console.log(n);
 * ```
 */
export type ReplyFor<C, X> = C extends Sender<infer R>
  ? R
  : C extends { readonly reply: Sender<infer R> }
    ? X extends C
      ? R
      : never
    : never;

/** Why a reply Sender was closed unanswered, recorded by {@link decline} for its caller. */
interface Declined {
  declined?: boolean;
  cause?: unknown;
}

/** Reply Senders made by `call`, weakly, so that a dropped request can still be collected. */
const declines = new WeakMap<object, Declined>();

/**
 * Sends a request built around a fresh one-shot reply Sender and waits for
 * the answer. `build(reply)` returns the request; put `reply` in it (by
 * convention in a field named `reply`). The answer's type is inferred from
 * the request type: no annotations needed.
 *
 * Rejects with {@link ActorGoneError} when the request channel has no
 * Receiver left (`kind: 'undelivered'`) or when the reply Sender is closed
 * or collected unanswered (`kind: 'no-reply'`); with
 * {@link CallTimeoutError} after `timeout`; with `signal.reason` on abort.
 *
 * @example
 * ```ts
 * import { bounded, call, respond, type Sender } from 'weft';
 * type Cmd = { type: 'add'; a: number; b: number; reply: Sender<number> };
 * const [tx, rx] = bounded<Cmd>(8);
 * void (async () => { for await (const c of rx) respond(c.reply, c.a + c.b); })();
 * const sum = await call(tx, (reply) => ({ type: 'add', a: 2, b: 3, reply })); // sum: number
 * console.log(sum); // 5
 * tx.close();
 * ```
 */
export async function call<C, const X extends C>(
  to: Sender<C>,
  build: (reply: Sender<never>) => X,
  options?: CallOptions,
): Promise<ReplyFor<C, X>> {
  const signal = options?.signal;
  signal?.throwIfAborted();
  checkTimeout(options?.timeout);
  const deadline = options?.timeout === undefined ? Infinity : performance.now() + options.timeout;
  const declined: Declined = {};
  const [replies, sent] = deliver<C, ReplyFor<C, X>>(to, build, declined, signal, options?.timeout);
  await sent;
  return awaitReply(replies, declined, signal, deadline);
}

/**
 * Builds and sends the request. Kept apart from `call` so that the caller's
 * frame never holds the reply Sender: once the request is out, only the
 * request references it, and a request dropped unanswered lets it be
 * collected (which the caller sees as a disconnection).
 */
function deliver<C, R>(
  to: Sender<C>,
  build: (reply: Sender<never>) => C,
  declined: Declined,
  signal: AbortSignal | undefined,
  timeout: number | undefined,
): [Receiver<R>, Promise<void>] {
  const [reply, replies] = replyChannelFor<C, R>(to);
  declines.set(reply, declined);
  let request: C;
  try {
    request = build(reply as unknown as Sender<never>);
  } catch (e) {
    reply.close();
    replies.close();
    throw e;
  }
  const sending =
    timeout !== undefined ? to.sendTimeout(request, timeout, { signal }) : signal !== undefined ? to.send(request, { signal }) : to.send(request);
  const sent = sending.catch((e: unknown) => {
    reply.close();
    replies.close();
    throw undelivered(e);
  });
  return [replies, sent];
}

function checkTimeout(ms: number | undefined): void {
  if (ms !== undefined && !(ms >= 0)) throw new RangeError(`call: timeout must be a number of milliseconds >= 0, got ${String(ms)}`);
}

function undelivered(e: unknown): unknown {
  if (e instanceof SendError) return new ActorGoneError('undelivered', e.value, { cause: e });
  if (e instanceof SendTimeoutError) {
    return e.kind === 'timeout' ? new CallTimeoutError(false, e.value) : new ActorGoneError('undelivered', e.value, { cause: e });
  }
  if (e instanceof SendAbortedError) return e.cause;
  return e;
}

async function awaitReply<R>(replies: Receiver<R>, declined: Declined, signal: AbortSignal | undefined, deadline: number): Promise<R> {
  try {
    if (deadline === Infinity) return await replies.recv(signal === undefined ? undefined : { signal });
    return await replies.recvTimeout(Math.max(0, deadline - performance.now()), { signal });
  } catch (e) {
    if (e instanceof RecvError || (e instanceof RecvTimeoutError && e.kind === 'disconnected')) {
      throw new ActorGoneError('no-reply', undefined, declined.declined ? { cause: declined.cause } : undefined);
    }
    if (e instanceof RecvTimeoutError) throw new CallTimeoutError(true);
    throw e;
  } finally {
    replies.close();
  }
}

/**
 * Answers a request: sends `value` on its one-shot reply Sender and closes
 * it. Returns `false` when the caller is no longer waiting (it timed out or
 * was aborted) or the request was already answered; never throws for that.
 *
 * @example
 * ```ts
 * import { bounded, call, respond, type Sender } from 'weft';
 * const [tx, rx] = bounded<Sender<string>>(1);
 * const answer = call(tx, (reply) => reply);
 * respond(await rx.recv(), 'pong');
 * console.log(await answer); // 'pong'
 * ```
 */
export function respond<R>(reply: Sender<R>, value: NoInfer<R>): boolean {
  try {
    return reply.offer(value);
  } catch (e) {
    if (e instanceof WeftError) return false;
    throw e;
  } finally {
    reply.close();
  }
}

/**
 * Refuses a request: closes its reply Sender without an answer. The caller's
 * {@link call} rejects at once with {@link ActorGoneError} `'no-reply'`,
 * whose `cause` is `cause`.
 *
 * @example
 * ```ts
 * import { bounded, call, decline, ActorGoneError, type Sender } from 'weft';
 * const [tx, rx] = bounded<Sender<number>>(1);
 * const answer = call(tx, (reply) => reply);
 * decline(await rx.recv(), new Error('busy'));
 * await answer.catch((e: ActorGoneError) => console.log(e.kind, e.cause)); // 'no-reply' Error: busy
 * ```
 */
export function decline(reply: Sender<unknown>, cause?: unknown): void {
  const d = declines.get(reply);
  if (d !== undefined && !reply.isClosed) {
    d.declined = true;
    d.cause = cause;
  }
  reply.close();
}

/** A one-shot reply channel of the kind `to` can carry: shared for shared channels, in-thread otherwise. */
function replyChannelFor<C, R>(to: Sender<C>): readonly [Sender<R>, Receiver<R>] {
  const make = to.core.replyChannel;
  if (make === undefined) return bounded<R>(1);
  return make.call(to.core) as unknown as readonly [Sender<R>, Receiver<R>];
}
