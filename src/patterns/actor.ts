/**
 * An actor in miniature: a component that serves typed commands, one at a
 * time, from its own request channel. Commands are a discriminated union on
 * `type`; a command that expects an answer carries a `reply` Sender, and its
 * handler's return value is the answer.
 *
 * @module
 */
import { Receiver, Sender } from '../channel/index.js';
import { decline, respond } from './call.js';
import { spawn, type Component, type ComponentContext, type SpawnOptions, type StopInfo } from './component.js';
import { isThenable } from './fair.js';

/**
 * A command: a discriminated union member tagged by `type`.
 *
 * @example
 * ```ts
 * import type { Command, Sender } from 'weft';
 * type KV = { type: 'put'; key: string; value: string } | { type: 'get'; key: string; reply: Sender<string | undefined> };
 * const cmd: KV & Command = { type: 'put', key: 'a', value: '1' };
 * console.log(cmd.type); // 'put'
 * ```
 */
export interface Command {
  readonly type: string;
}

/**
 * What a command's handler must return: the reply type for commands with a `reply` Sender, else nothing.
 *
 * @example
 * ```ts
 * import type { ReplyOf, Sender } from 'weft';
 * const answer: ReplyOf<{ type: 'get'; reply: Sender<number> }> = 1;
 * const nothing: ReplyOf<{ type: 'put' }> = undefined;
 * console.log(answer, nothing);
 * ```
 */
export type ReplyOf<C> = C extends { readonly reply: Sender<infer R> } ? R : void;

/**
 * The inputs of an actor's component: its request channel.
 *
 * @example
 * ```ts
 * import { bounded, type ActorInputs } from 'weft';
 * const inputs: ActorInputs<{ type: 'ping' }> = { requests: bounded<{ type: 'ping' }>(4)[1] };
 * console.log(inputs.requests.capacity); // 4
 * ```
 */
export type ActorInputs<C> = { readonly requests: Receiver<C> };

/**
 * The context an actor's handlers get.
 *
 * @example
 * ```ts
 * import { bounded, actor, type ActorContext } from 'weft';
 * type Cmd = { type: 'stop' };
 * const stopNow = (_s: undefined, _c: Cmd, ctx: ActorContext<Cmd>): void => ctx.stop();
 * const [tx, rx] = bounded<Cmd>(1);
 * const a = actor(rx, { handlers: { stop: stopNow } });
 * await tx.send({ type: 'stop' });
 * console.log((await a.done).reason); // 'quit'
 * ```
 */
export type ActorContext<C> = ComponentContext<ActorInputs<C>>;

/**
 * One handler per command type; each returns (or resolves to) that command's reply.
 *
 * @example
 * ```ts
 * import type { Handlers, Sender } from 'weft';
 * type Cmd = { type: 'inc' } | { type: 'get'; reply: Sender<number> };
 * const handlers: Handlers<Cmd, { n: number }> = {
 *   inc: (s) => { s.n++; },
 *   get: (s) => s.n,
 * };
 * console.log(Object.keys(handlers)); // ['inc', 'get']
 * ```
 */
export type Handlers<C extends Command, S> = {
  readonly [K in C['type']]: (
    state: S,
    command: Extract<C, { readonly type: K }>,
    ctx: ActorContext<C>,
  ) => ReplyOf<Extract<C, { readonly type: K }>> | PromiseLike<ReplyOf<Extract<C, { readonly type: K }>>>;
};

/**
 * What an actor does: its state, a handler per command, and a cleanup.
 *
 * @example
 * ```ts
 * import { bounded, actor, call, type ActorBody, type Sender } from 'weft';
 * type Cmd = { type: 'echo'; text: string; reply: Sender<string> };
 * const echo: ActorBody<Cmd, undefined> = { handlers: { echo: (_s, c) => c.text } };
 * const [tx, rx] = bounded<Cmd>(4);
 * const a = actor(rx, echo);
 * console.log(await call(tx, (reply) => ({ type: 'echo', text: 'hi', reply }))); // 'hi'
 * tx.close(); await a.done;
 * ```
 */
export interface ActorBody<C extends Command, S = undefined, R = void> {
  init?(ctx: ActorContext<C>): S | PromiseLike<S>;
  readonly handlers: Handlers<C, S>;
  cleanup?(state: S, stop: StopInfo, ctx: ActorContext<C>): R | PromiseLike<R>;
}

/**
 * Options of {@link actor}: those of `spawn`, without the inputs.
 *
 * @example
 * ```ts
 * import { bounded, actor, type ActorOptions } from 'weft';
 * const ac = new AbortController();
 * setTimeout(() => ac.abort(), 10);
 * const options: ActorOptions = { name: 'pinger', signal: ac.signal };
 * const [, rx] = bounded<{ type: 'ping' }>(1);
 * console.log((await actor(rx, { handlers: { ping: () => {} } }, options).done).reason); // 'aborted'
 * ```
 */
export type ActorOptions = Omit<SpawnOptions<ActorInputs<never>>, 'inputs'>;

/**
 * Serves the commands arriving on `requests` in a component loop, one at a
 * time, with `body.handlers`; the actor owns `requests` from now on.
 *
 * Replies: a handler's return value is sent on the command's `reply` Sender,
 * which is then closed. Shutdown: the actor stops when every request Sender
 * is closed (after serving what is queued), when a handler calls
 * `ctx.stop()` (after replying), or on `options.signal` / `stop()`. Commands
 * still queued then are declined and the request channel is closed, at
 * once — even while a handler is still running — so callers get
 * `ActorGoneError` instead of waiting. A handler that throws crashes the actor: its caller and every
 * queued caller get `ActorGoneError` (cause: the error) and `done` rejects.
 * To report a failure without crashing, make it part of the reply type.
 *
 * @example
 * ```ts
 * import { bounded, actor, call, type Sender } from 'weft';
 * type Counter =
 *   | { type: 'add'; by: number }
 *   | { type: 'get'; reply: Sender<number> };
 * const [tx, rx] = bounded<Counter>(16);
 * const counter = actor(rx, {
 *   init: () => ({ n: 0 }),
 *   handlers: {
 *     add: (s, c) => { s.n += c.by; },
 *     get: (s) => s.n,
 *   },
 * });
 * await tx.send({ type: 'add', by: 2 });
 * console.log(await call(tx, (reply) => ({ type: 'get', reply }))); // 2
 * tx.close();                          // last Sender closed: the actor ends
 * await counter.done;
 * ```
 */
export function actor<C extends Command, S = undefined, R = void>(
  requests: Receiver<C>,
  body: ActorBody<C, S, R>,
  options?: ActorOptions,
): Component<R> {
  return spawn<ActorInputs<C>, S, R>(
    {
      init: (ctx) => {
        // Callers must not wait for a handler that ignores the abort: refuse them as soon as the actor stops
        // (on the next microtask, once the loop's own wait has seen the abort and let go of the channel).
        const refuse = (): void => queueMicrotask(() => refuseQueued(ctx.inputs.requests, ctx.signal.reason));
        ctx.signal.addEventListener('abort', refuse, { once: true });
        return body.init === undefined ? (undefined as S) : body.init(ctx);
      },
      handle: (state, msg, ctx) => serve(body.handlers, state, msg.value, ctx),
      cleanup: (state, stop, ctx) => {
        refuseQueued(ctx.inputs.requests, stop.cause);
        return body.cleanup?.(state, stop, ctx) as R | PromiseLike<R>;
      },
    },
    { ...options, inputs: { requests } },
  );
}

type AnyHandler<C, S> = (state: S, command: C, ctx: ActorContext<C>) => unknown;

/** Runs the command's handler and answers; a throw declines the command and crashes the actor. */
async function serve<C extends Command, S>(handlers: Handlers<C, S>, state: S, command: C, ctx: ActorContext<C>): Promise<void> {
  const handler = (handlers as unknown as Record<string, AnyHandler<C, S> | undefined>)[command.type];
  try {
    if (handler === undefined) throw new TypeError(`actor: no handler for command type '${command.type}'`);
    let out = handler(state, command, ctx);
    if (isThenable(out)) out = await out;
    const reply = replyOf(command);
    if (reply !== undefined) respond(reply, out);
  } catch (e) {
    const reply = replyOf(command);
    if (reply !== undefined) decline(reply, e);
    throw e;
  }
}

function replyOf(command: object): Sender<unknown> | undefined {
  const reply = (command as { reply?: unknown }).reply;
  return reply instanceof Sender ? (reply as Sender<unknown>) : undefined;
}

/** Declines every queued command and closes the request channel, in one synchronous step. */
function refuseQueued<C extends object>(requests: Receiver<C>, cause: unknown): void {
  if (requests.isClosed) return;
  for (const command of requests.tryIter()) {
    const reply = replyOf(command);
    if (reply !== undefined) decline(reply, cause);
  }
  requests.close();
}
