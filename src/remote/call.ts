/**
 * Request/reply over channels, local or remote: the request carries a
 * one-shot reply Sender (the reference articles' "Sender inside the
 * message"), and the caller waits on the matching Receiver.
 *
 * @module
 */
import { bounded } from '../channel/channels.js';
import { RecvError, RecvTimeoutError, SendAbortedError, SendError, SendTimeoutError } from '../channel/errors.js';
import type { Sender } from '../channel/sender.js';
import { CallError } from './errors.js';

/**
 * Options of {@link call}.
 *
 * @example
 * ```ts
 * import type { CallOptions } from 'weft/nats';
 * const options: CallOptions = { timeout: 2000, signal: AbortSignal.timeout(5000) };
 * console.log(options.timeout);
 * ```
 */
export interface CallOptions {
  /** Give up after this many ms (delivery and answer together) with {@link CallError} `'timeout'`. Default: no limit. */
  timeout?: number;
  /** Cancels the call; it rejects with `signal.reason`, and a late answer is dropped. */
  signal?: AbortSignal;
}

/**
 * Sends a request built around a fresh reply Sender and waits for the
 * answer. Works on any Sender: across processes the reply Sender travels
 * inside the request (it is exported by this process's link), and the
 * server answers with `await req.reply.send(answer)` then
 * `req.reply.close()`.
 *
 * Rejects with {@link CallError}: `'not-delivered'` when the request
 * channel is disconnected, `'no-reply'` when the reply Sender was closed
 * (or its holder's link closed) without an answer, `'timeout'` after
 * `options.timeout`.
 *
 * @example
 * ```ts
 * import { connect, call } from 'weft/nats';
 * import type { Sender } from 'weft';
 * type Req = { a: number; b: number; reply: Sender<number> };
 * const link = await connect({ servers: 'nats://127.0.0.1:4333' });
 * const adder = await link.sender<Req>('adder');          // served by another process
 * const sum = await call(adder, (reply) => ({ a: 2, b: 3, reply }), { timeout: 5000 });
 * console.log(sum); // 5
 * adder.close(); await link.close();
 * ```
 */
export async function call<Req, Res>(tx: Sender<Req>, build: (reply: Sender<Res>) => Req, options?: CallOptions): Promise<Res> {
  const signal = options?.signal;
  const deadline = options?.timeout === undefined ? Infinity : performance.now() + options.timeout;
  const left = (): number => Math.max(0, deadline - performance.now());
  const [replyTx, replyRx] = bounded<Res>(1);
  try {
    const request = build(replyTx);
    try {
      if (deadline === Infinity) await tx.send(request, { signal });
      else await tx.sendTimeout(request, left(), { signal });
    } catch (e) {
      if (e instanceof SendError || (e instanceof SendTimeoutError && e.kind === 'disconnected')) {
        throw new CallError('not-delivered', 'call: the request channel is disconnected: nobody receives requests', { cause: e });
      }
      if (e instanceof SendTimeoutError) throw new CallError('timeout', 'call: timed out before the request could be sent', { cause: e });
      if (e instanceof SendAbortedError) throw e.cause;
      throw e;
    }
    // our own clone goes: the reply channel stays open only while the request's reply Sender lives
    replyTx.close();
    try {
      if (deadline === Infinity) return await replyRx.recv({ signal });
      return await replyRx.recvTimeout(left(), { signal });
    } catch (e) {
      if (e instanceof RecvError || (e instanceof RecvTimeoutError && e.kind === 'disconnected')) {
        throw new CallError('no-reply', 'call: the request was taken but its reply Sender was closed without an answer', { cause: e });
      }
      if (e instanceof RecvTimeoutError) throw new CallError('timeout', 'call: no answer before the timeout', { cause: e });
      throw e;
    }
  } finally {
    replyTx.close();
    replyRx.close();
  }
}
