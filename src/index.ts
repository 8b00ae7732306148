/**
 * weft: typed channels for TypeScript with the semantics of Rust's
 * crossbeam-channel. Share your Sender, keep your Receiver.
 *
 * @example
 * ```ts
 * import { bounded } from 'weft';
 * const [tx, rx] = bounded<number>(16);
 * void (async () => { for (let i = 0; i < 3; i++) await tx.send(i); tx.close(); })();
 * for await (const n of rx) console.log(n);
 * ```
 * @module
 */
export * from './channel/index.js';
export * from './patterns/index.js';
