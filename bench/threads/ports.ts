/**
 * The postMessage side of the benchmark, shared by the main thread and the
 * workers: receiving a stream of messages on a port, and ping-pong.
 *
 * @module
 */
import { checkOf, type Kind } from './values.js';

/** The part of a MessagePort (or a Worker) these loops use. */
export interface PortLike {
  postMessage(v: unknown): void;
  on(e: 'message', f: (v: unknown) => void): unknown;
  off(e: 'message', f: (v: unknown) => void): unknown;
}

/** Receives `count` messages (or batches of them) on a port; resolves with their checksum. */
export function pmReceive(port: PortLike, kind: Kind, count: number, batched: boolean): Promise<number> {
  const check = checkOf(kind);
  return new Promise<number>((resolve) => {
    let got = 0;
    let s = 0;
    const on = (v: unknown): void => {
      if (batched) {
        for (const x of v as unknown[]) s += check(x);
        got += (v as unknown[]).length;
      } else {
        s += check(v);
        got++;
      }
      if (got >= count) {
        port.off('message', on);
        resolve(s);
      }
    };
    port.on('message', on);
  });
}

/** Ping-pong over a port from the pinging side: `n` round trips; resolves with the sum of the replies. */
export function pmPingLoop(port: PortLike, n: number): Promise<number> {
  return new Promise<number>((resolve) => {
    let i = 0;
    let s = 0;
    const on = (v: unknown): void => {
      s += v as number;
      if (++i >= n) {
        port.off('message', on);
        resolve(s);
      } else port.postMessage(i);
    };
    port.on('message', on);
    port.postMessage(0);
  });
}

