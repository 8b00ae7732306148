/**
 * Publishes written as NATS protocol frames in one buffer.
 *
 * A link hands the client every publish of one event-loop turn at once (see
 * `Link.uncork`). Going through `publish()` costs, per message, a subject
 * check with a regular expression, a protocol line built as a string and
 * encoded, and a buffer of its own queued in the client. Here a whole turn
 * — sends with their message-id header, acks, pulls — becomes one
 * `Uint8Array` of `PUB`/`HPUB` frames, written straight into the client's
 * outbound queue, in order with everything else the client sends.
 *
 * Only what the client would accept goes this way: a frame larger than the
 * server's `max_payload`, a header block for a server without headers, or a
 * client without the expected internals, falls back to `publish()` (which
 * then reports the problem the usual way).
 *
 * @internal
 */
import type { NatsConnection } from '@nats-io/transport-node';

const TE = new TextEncoder();
const CRLF0 = 0x0d;
const CRLF1 = 0x0a;
const SPACE = 0x20;
const DOT = 0x2e;
const HDR_HEAD = TE.encode('NATS/1.0\r\nNats-Msg-Id: ');
const HDR_TAIL_LEN = 4; // \r\n\r\n

/** The part of the client's connection this writer uses (not in its typings). */
interface Protocol {
  sendCommand(cmd: Uint8Array): void;
  noMorePublishing?: boolean;
  outMsgs?: number;
  outBytes?: number;
}

/** The client's protocol handler, if it has the shape this writer relies on. */
export function protocolOf(nc: NatsConnection): Protocol | undefined {
  const p = (nc as unknown as { protocol?: Partial<Protocol> }).protocol;
  return p !== undefined && typeof p.sendCommand === 'function' ? (p as Protocol) : undefined;
}

/**
 * A queue of publishes, five slots each, in order: `subject`, `data`,
 * `reply` (or undefined), `msgId` (or undefined), `seq` (or undefined).
 * With `seq`, the reply subject and the message id are `<reply>.<seq>` and
 * `<msgId>.<seq>`: a send window's prefixes stay the same strings, so their
 * bytes are encoded once (see {@link fullPublish}).
 */
export type PublishQueue = Array<string | Uint8Array | number | undefined>;

/** The reply subject and message id of a queued publish, as strings. */
export function fullPublish(reply: string | undefined, id: string | undefined, seq: number | undefined): [string | undefined, string | undefined] {
  if (seq === undefined) return [reply, id];
  return [reply === undefined ? undefined : `${reply}.${seq}`, id === undefined ? undefined : `${id}.${seq}`];
}

/** Encoded bytes of recurring strings (subjects and prefixes of send windows), bounded. */
const cache = new Map<string, Uint8Array>();
function bytesOf(s: string): Uint8Array {
  let b = cache.get(s);
  if (b === undefined) {
    if (cache.size >= 256) cache.clear();
    b = TE.encode(s);
    cache.set(s, b);
  }
  return b;
}

/**
 * Writes the queued publishes to the connection, in order. Returns false
 * (having written nothing) when the connection is closed or draining;
 * `fallback` is called, in place, for a publish this writer does not take.
 */
export function writePublishes(
  nc: NatsConnection,
  proto: Protocol,
  q: PublishQueue,
  fallback: (subject: string, data: Uint8Array, reply: string | undefined, id: string | undefined) => void,
): boolean {
  if (nc.isClosed() || proto.noMorePublishing === true) return false;
  const maxPayload = nc.info?.max_payload ?? Infinity;
  const headers = nc.info?.headers !== false; // a server without headers refuses HPUB: the client reports it
  // an upper bound: strings at 3 bytes per UTF-16 unit, numbers at 16 digits
  let bound = 0;
  for (let i = 0; i < q.length; i += 5) {
    const subject = q[i] as string;
    const data = q[i + 1] as Uint8Array;
    const reply = q[i + 2] as string | undefined;
    const id = q[i + 3] as string | undefined;
    bound += 5 + subject.length * 3 + 1 + (reply === undefined ? 0 : reply.length * 3 + 18) + 34 + 2 + data.length + 2;
    if (id !== undefined) bound += HDR_HEAD.length + id.length * 3 + 17 + HDR_TAIL_LEN;
  }
  // not zero-filled: every byte up to the end offset is written below
  const buf: Uint8Array = Buffer.allocUnsafe(bound);
  let o = 0;
  let start = 0;
  let msgs = 0;
  let bytes = 0;
  const flushTo = (end: number): void => {
    if (end > start) proto.sendCommand(buf.subarray(start, end));
  };
  for (let i = 0; i < q.length; i += 5) {
    const subject = q[i] as string;
    const data = q[i + 1] as Uint8Array;
    const reply = q[i + 2] as string | undefined;
    const id = q[i + 3] as string | undefined;
    const seq = q[i + 4] as number | undefined;
    // with a sequence, the strings recur: their bytes come from the cache
    const idBytes = id === undefined ? undefined : seq === undefined ? TE.encode(id) : bytesOf(id);
    const idLen = idBytes === undefined ? 0 : idBytes.length + (seq === undefined ? 0 : 1 + digits(seq));
    const hlen = id === undefined ? 0 : HDR_HEAD.length + idLen + HDR_TAIL_LEN;
    const len = hlen + data.length;
    if (len > maxPayload || (id !== undefined && !headers)) {
      // the client refuses it with its own error; keep the order of what is around it
      flushTo(o);
      const [r, m] = fullPublish(reply, id, seq);
      fallback(subject, data, r, m);
      start = o;
      continue;
    }
    if (id === undefined) {
      buf[o++] = 0x50; // P
      buf[o++] = 0x55; // U
      buf[o++] = 0x42; // B
    } else {
      buf[o++] = 0x48; // H
      buf[o++] = 0x50;
      buf[o++] = 0x55;
      buf[o++] = 0x42;
    }
    buf[o++] = SPACE;
    if (seq === undefined) {
      o = writeString(buf, o, subject);
    } else {
      const b = bytesOf(subject);
      buf.set(b, o);
      o += b.length;
    }
    buf[o++] = SPACE;
    if (reply !== undefined && reply !== '') {
      if (seq === undefined) {
        o = writeString(buf, o, reply);
      } else {
        const b = bytesOf(reply);
        buf.set(b, o);
        o += b.length;
        buf[o++] = DOT;
        o = writeInt(buf, o, seq);
      }
      buf[o++] = SPACE;
    }
    if (id !== undefined) {
      o = writeInt(buf, o, hlen);
      buf[o++] = SPACE;
    }
    o = writeInt(buf, o, len);
    buf[o++] = CRLF0;
    buf[o++] = CRLF1;
    if (idBytes !== undefined) {
      buf.set(HDR_HEAD, o);
      o += HDR_HEAD.length;
      buf.set(idBytes, o);
      o += idBytes.length;
      if (seq !== undefined) {
        buf[o++] = DOT;
        o = writeInt(buf, o, seq);
      }
      buf[o++] = CRLF0;
      buf[o++] = CRLF1;
      buf[o++] = CRLF0;
      buf[o++] = CRLF1;
    }
    buf.set(data, o);
    o += data.length;
    buf[o++] = CRLF0;
    buf[o++] = CRLF1;
    msgs++;
    bytes += len;
  }
  flushTo(o);
  // keep the client's statistics (nc.stats()) right
  if (typeof proto.outMsgs === 'number') proto.outMsgs += msgs;
  if (typeof proto.outBytes === 'number') proto.outBytes += bytes;
  return true;
}

/** Writes `s` as UTF-8 at `o`; returns the new offset. */
function writeString(buf: Uint8Array, o: number, s: string): number {
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return o - i + TE.encodeInto(s, buf.subarray(o - i)).written;
    buf[o++] = c;
  }
  return o;
}


/** Decimal digits of a non-negative integer. */
function digits(v: number): number {
  let n = 1;
  for (let x = v; x >= 10; x = Math.floor(x / 10)) n++;
  return n;
}

/** Writes a non-negative integer in decimal at `o`; returns the new offset. */
function writeInt(buf: Uint8Array, o: number, v: number): number {
  if (v < 10) {
    buf[o++] = 0x30 + v;
    return o;
  }
  const end = o + digits(v);
  let p = end;
  for (let x = v; x > 0; x = Math.floor(x / 10)) buf[--p] = 0x30 + (x % 10);
  return end;
}
