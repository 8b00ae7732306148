/**
 * Typed errors of the remote layer. They extend weft's own errors, so code
 * that handles local channels' errors handles these too.
 *
 * @module
 */
import { InvalidValueError, WeftError } from '../channel/errors.js';

/** Why a value could not be encoded. */
export type EncodeErrorKind = 'unsupported' | 'too-large' | 'cyclic' | 'too-deep';

/**
 * A value was refused at send: it cannot be encoded (a function, a symbol, a
 * class instance, a cycle…) or its encoding exceeds the link's maximum
 * message size. Nothing was sent; the value is in `.value`.
 *
 * @example
 * ```ts
 * import { EncodeError } from 'weft/nats';
 * declare const tx: import('weft').Sender<unknown>;
 * await tx.send(() => 1).catch((e) => {
 *   if (e instanceof EncodeError) console.log(e.kind, e.path); // 'unsupported' '$'
 * });
 * ```
 */
export class EncodeError<T = unknown> extends InvalidValueError<T> {
  /** What went wrong. */
  readonly kind: EncodeErrorKind;
  /** Where in the value (`$`, `$.a[2]`, …). */
  readonly path: string;
  constructor(kind: EncodeErrorKind, message: string, value: T, path = '$') {
    super(`cannot send this value over a remote channel: ${message}; nothing was sent and the value is in error.value`, value);
    this.kind = kind;
    this.path = path;
  }
}

/**
 * A message on a remote channel could not be decoded (garbage bytes
 * published on the channel's subject by someone else, or a message from an
 * incompatible version). A receive reports it with this error instead of a
 * value; the message is taken off the channel and the next receive goes on
 * with the next message.
 *
 * @example
 * ```ts
 * import { DecodeError } from 'weft/nats';
 * declare const rx: import('weft').Receiver<number>;
 * try { await rx.recv(); } catch (e) {
 *   if (e instanceof DecodeError) console.log('skipped a bad message', e.bytes.length);
 * }
 * ```
 */
export class DecodeError extends WeftError {
  /** The raw bytes of the message. */
  readonly bytes: Uint8Array;
  /** The channel's name, when known. */
  readonly channel: string | undefined;
  constructor(reason: string, bytes: Uint8Array, channel?: string) {
    super(
      `a message on remote channel ${channel === undefined ? '' : `"${channel}" `}could not be decoded (${reason}); it was removed from the channel and the next receive continues with the next message`,
    );
    this.bytes = bytes;
    this.channel = channel;
  }
}

/**
 * A remote operation failed for a reason outside the channel's semantics:
 * the server refused to connect (bad credentials, no server), a channel's
 * stream exists with another configuration, the link is closed, or the
 * server lacks JetStream.
 *
 * @example
 * ```ts
 * import { connect, RemoteError } from 'weft/nats';
 * await connect({ servers: 'nats://127.0.0.1:1' }).catch((e) => {
 *   if (e instanceof RemoteError) console.log(e.kind); // 'connect'
 * });
 * ```
 */
export class RemoteError extends WeftError {
  /** What failed. */
  readonly kind: RemoteErrorKind;
  constructor(kind: RemoteErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.kind = kind;
  }
}

/** The kinds of {@link RemoteError}. */
export type RemoteErrorKind = 'connect' | 'auth' | 'config' | 'closed' | 'jetstream' | 'timeout' | 'flush';

/** Why a {@link call} failed. */
export type CallErrorKind = 'timeout' | 'no-reply' | 'not-delivered';

/**
 * A {@link call} did not get its answer: `'not-delivered'` (the request
 * channel is disconnected: nobody receives requests), `'no-reply'` (the
 * request was taken, but its reply Sender was closed without an answer),
 * or `'timeout'`.
 *
 * @example
 * ```ts
 * import { call, CallError } from 'weft/nats';
 * import type { Sender } from 'weft';
 * declare const service: Sender<{ n: number; reply: Sender<number> }>;
 * await call(service, (reply) => ({ n: 1, reply }), { timeout: 1000 }).catch((e) => {
 *   if (e instanceof CallError) console.log(e.kind);
 * });
 * ```
 */
export class CallError extends WeftError {
  readonly kind: CallErrorKind;
  constructor(kind: CallErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.kind = kind;
  }
}
