/**
 * weft/nats: weft channels across processes and machines, on NATS
 * JetStream. Same Sender and Receiver, same errors, same select as local
 * channels; the other end lives in another process.
 *
 * @example
 * ```ts
 * import { connect } from 'weft/nats';
 * import { select, after } from 'weft';
 * const link = await connect({ servers: 'nats://127.0.0.1:4333' });
 * const [tx, rx] = await link.bounded<{ job: number }>('jobs', 100);
 * await tx.send({ job: 1 });
 * const r = await select({ job: rx, idle: after(1000) });
 * if (r.case === 'job' && r.ok) console.log(r.value); // { job: 1 }
 * tx.close(); rx.close();
 * await link.close();
 * ```
 * @module
 */
import type { Handle } from '../channel/handle.js';
import { StreamCore } from './core.js';

export { connect, Link, type ConnectOptions, type ChannelOptions, type TlsOptions } from './link.js';
export { call, type CallOptions } from './call.js';
export {
  EncodeError,
  DecodeError,
  RemoteError,
  CallError,
  type EncodeErrorKind,
  type RemoteErrorKind,
  type CallErrorKind,
} from './errors.js';
export { startServer, findServerBinary, serverVersion, freePort, type ServerOptions, type TestServer } from './testing.js';

/**
 * Resolves once every message sent so far through this handle's remote
 * channel (by this process) is stored by the server. A `send` on a remote
 * channel completes when the message is accepted into the channel's send
 * window; `flush` is the point where it is durable. Resolves at once for
 * local channels.
 *
 * @example
 * ```ts
 * import { connect, flush } from 'weft/nats';
 * const link = await connect({ servers: 'nats://127.0.0.1:4333' });
 * const [tx, rx] = await link.bounded<number>('numbers', 1000);
 * for (let i = 0; i < 100; i++) await tx.send(i);
 * await flush(tx); // all 100 stored
 * tx.close(); rx.close(); await link.close();
 * ```
 */
export function flush(handle: Handle<unknown>): Promise<void> {
  const core: unknown = handle.core;
  return core instanceof StreamCore ? core.flush() : Promise.resolve();
}

/**
 * The name of the remote channel a handle belongs to, or `undefined` for a
 * local channel (or a handle received from another process's local channel).
 *
 * @example
 * ```ts
 * import { connect, channelName } from 'weft/nats';
 * const link = await connect({ servers: 'nats://127.0.0.1:4333' });
 * const [tx, rx] = await link.unbounded<string>('log');
 * console.log(channelName(tx)); // 'log'
 * tx.close(); rx.close(); await link.close();
 * ```
 */
export function channelName(handle: Handle<unknown>): string | undefined {
  const core: unknown = handle.core;
  return core instanceof StreamCore ? core.names.name : undefined;
}
