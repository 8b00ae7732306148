/**
 * Handles that travel inside messages: a Sender or Receiver put in a value
 * sent on a remote channel arrives as a working handle on the other side.
 *
 * - A handle of a **named remote channel** travels as the channel's name:
 *   the receiving process opens the same channel on its own link. While the
 *   message is on its way, a *transit* presence record keeps that side of
 *   the channel alive (so closing your own Sender right after sending it
 *   does not disconnect the channel), until the receiving process opens
 *   its own instance.
 * - A handle of a **local channel** (any in-process channel, including
 *   `bounded(0)` rendezvous channels) is *exported*: this link keeps a clone
 *   of it and answers requests for it on a subject of its own
 *   (`<prefix>.x.<link id>.<export id>`), over core NATS request/reply. A
 *   remote `send` on an exported Sender completes when the value was
 *   accepted into the local channel (for `bounded(0)`, taken by a local
 *   receiver); a remote `recv` on an exported Receiver asks the owner for
 *   the next value. The export lives while a message or a remote holder
 *   references it; when the last remote holder closes its handle (or the
 *   local channel is disconnected), the clone is closed.
 * - A handle that was itself received from another process travels on as
 *   the same reference (remote → remote); the owner counts one more holder.
 *
 * Delivery of sends through an exported Sender is exactly-once while both
 * processes live (requests carry an id; the owner answers retries from a
 * memory of recent ids). Receives through an exported Receiver are
 * at-most-once if the holder dies while a value is on its way to it.
 *
 * @internal
 */
import type { Msg, Subscription } from '@nats-io/transport-node';
import { DISCONNECTED, EMPTY, FULL, SENT, type ChannelCore, type Side, type TryRecvStatus, type TrySendStatus } from '../channel/core.js';
import { RecvError } from '../channel/errors.js';
import { Receiver } from '../channel/receiver.js';
import { Sender } from '../channel/sender.js';
import { Observers, WaiterList, type Observer, type Waiter } from '../channel/waiter.js';
import { CodecFailure, decode, encode, type AnyHandle, type HandleHooks } from './codec.js';
import { StreamCore } from './core.js';
import type { Link } from './link.js';

const TE = new TextEncoder();
const TD = new TextDecoder();
const now = (): number => performance.now();

/** Ops of export requests (first byte). */
const OP_SEND = 1;
const OP_RECV = 2;
const OP_ACQUIRE = 3;
const OP_RELEASE = 4;

/** Reply codes (first byte). */
const R_OK = 1;
const R_GONE = 2;
const R_VALUE = 3;
const R_ERROR = 4;

type Descriptor =
  | { k: 'ch'; n: string; s: Side; c: number | null; t?: string }
  | { k: 'x'; s: Side; x: string; c: number | null };

interface Export {
  readonly id: string;
  readonly handle: Sender<unknown> | Receiver<unknown>;
  refs: number;
  /** Recent send ids → done? (answers retries) */
  readonly seen: Map<string, boolean>;
  /** Pending remote receives, to abort when the holder leaves. */
  readonly pendingRecvs: Set<AbortController>;
  /** Remote sends still waiting for room in the local channel. */
  pendingSends: number;
}

export class HandleTransport implements HandleHooks {
  private readonly exports = new Map<string, Export>();
  private readonly byCore = new WeakMap<object, Map<Side, Export>>();
  private readonly sub: Subscription;
  private readonly subjectPrefix: string;
  private seq = 0;
  private closed = false;
  private readonly sweeper: ReturnType<typeof setInterval>;

  constructor(private readonly link: Link) {
    this.subjectPrefix = `${link.prefix}.x.${link.id}.`;
    this.sub = link.nc.subscribe(`${this.subjectPrefix}*`, { callback: (err, m) => { if (err === null) this.onRequest(m); } });
    // exports whose local channel is over (e.g. a caller stopped waiting for its reply) go away
    this.sweeper = setInterval(() => {
      for (const ex of this.exports.values()) {
        if (ex.handle.isDisconnected && ex.pendingSends === 0 && ex.pendingRecvs.size === 0) {
          ex.refs = 0;
          this.retire(ex);
        }
      }
    }, 5000);
    this.sweeper.unref();
  }

  // ---- encoding side

  exportHandles(handles: AnyHandle[]): string[] {
    return handles.map((h) => JSON.stringify(this.describe(h)));
  }

  unexport(descriptors: string[]): void {
    for (const d of descriptors) this.drop(JSON.parse(d) as Descriptor);
  }

  /** Undoes what describing a handle reserved (the message carrying it is gone). */
  drop(d: Descriptor): void {
    if (d.k === 'ch') {
      if (d.t !== undefined) this.link.core(d.n, undefined).presence.endTransit(d.s, d.t);
      return;
    }
    const local = this.exportFor(d.x);
    if (local !== undefined) this.release(local);
    else this.remoteOp(d.x, OP_RELEASE);
  }

  private describe(h: AnyHandle): Descriptor {
    const side: Side = h instanceof Sender ? 'send' : 'recv';
    const core = h.core as ChannelCore<unknown>;
    if (core instanceof StreamCore) {
      if (core.link === this.link) {
        const t = core.presence.beginTransit(side);
        return { k: 'ch', n: core.names.name, s: side, c: core.capacity ?? null, t };
      }
      // a channel of another link: export it like a local one
    }
    if (core instanceof ForeignCore) {
      if (core.link === this.link) {
        this.remoteOp(core.subject, OP_ACQUIRE);
        return { k: 'x', s: side, x: core.subject, c: core.capacity ?? null };
      }
    }
    let perSide = this.byCore.get(core);
    if (perSide === undefined) this.byCore.set(core, (perSide = new Map()));
    let ex = perSide.get(side);
    if (ex === undefined || ex.handle.closed) {
      const id = (++this.seq).toString(36);
      const handle = side === 'send' ? (h as Sender<unknown>).clone() : (h as Receiver<unknown>).clone();
      ex = { id, handle, refs: 0, seen: new Map(), pendingRecvs: new Set(), pendingSends: 0 };
      perSide.set(side, ex);
      this.exports.set(id, ex);
    }
    ex.refs++;
    return { k: 'x', s: side, x: this.subjectPrefix + ex.id, c: core.capacity ?? null };
  }

  private exportFor(subject: string): Export | undefined {
    if (!subject.startsWith(this.subjectPrefix)) return undefined;
    return this.exports.get(subject.slice(this.subjectPrefix.length));
  }

  private release(ex: Export): void {
    if (--ex.refs > 0) return;
    this.retire(ex);
  }

  /** Closes an export nobody references (once its accepted sends are done). */
  private retire(ex: Export): void {
    if (ex.refs > 0 || ex.pendingSends > 0 || !this.exports.has(ex.id)) return;
    this.exports.delete(ex.id);
    for (const ac of ex.pendingRecvs) ac.abort();
    ex.handle.close();
  }

  // ---- decoding side

  importHandle(descriptor: string): AnyHandle {
    let d: Descriptor;
    try {
      d = JSON.parse(descriptor) as Descriptor;
    } catch {
      throw new CodecFailure('malformed handle descriptor');
    }
    if (d === null || typeof d !== 'object' || (d.s !== 'send' && d.s !== 'recv')) throw new CodecFailure('malformed handle descriptor');
    if (d.k === 'ch') {
      if (typeof d.n !== 'string') throw new CodecFailure('malformed handle descriptor');
      const core = this.link.core<unknown>(d.n, d.c);
      const h = this.link.handle(core, d.s, importHandleCreator);
      if (d.t !== undefined) {
        const t = d.t;
        const side = d.s;
        // once this process's own instance is announced, the transit record can go
        void core.ready.then(
          () => setTimeout(() => core.presence.endTransit(side, t), 0),
          () => undefined,
        );
      }
      return h;
    }
    if (d.k === 'x' && typeof d.x === 'string') {
      const local = this.exportFor(d.x);
      if (local !== undefined) {
        // our own export came back: use the local handle directly
        const h = local.handle.side === 'send' ? (local.handle as Sender<unknown>).clone() : (local.handle as Receiver<unknown>).clone();
        this.release(local);
        return h;
      }
      const core = new ForeignCore(this.link, this, d.x, d.s, d.c ?? undefined);
      return d.s === 'send' ? new Sender(core, importHandleCreator) : new Receiver(core, importHandleCreator);
    }
    throw new CodecFailure('unknown handle descriptor');
  }

  /** Fire-and-forget op on an export of another link. */
  remoteOp(subject: string, op: number): void {
    this.link.publishRaw(subject, Uint8Array.of(op));
  }

  // ---- serving exports

  private onRequest(m: Msg): void {
    const ex = this.exports.get(m.subject.slice(this.subjectPrefix.length));
    const data = m.data;
    const op = data[0];
    const reply = m.reply;
    const answer = (bytes: Uint8Array): void => {
      if (reply !== undefined && reply !== '') this.link.publishRaw(reply, bytes);
    };
    if (ex === undefined || this.closed) {
      if (op === OP_SEND || op === OP_RECV) answer(Uint8Array.of(R_GONE));
      return;
    }
    switch (op) {
      case OP_ACQUIRE:
        ex.refs++;
        return;
      case OP_RELEASE:
        this.release(ex);
        return;
      case OP_SEND:
        return this.serveSend(ex, data, answer);
      case OP_RECV:
        return this.serveRecv(ex, answer);
    }
  }

  private serveSend(ex: Export, data: Uint8Array, answer: (b: Uint8Array) => void): void {
    const idLen = data[1] ?? 0;
    const id = TD.decode(data.subarray(2, 2 + idLen));
    const seen = ex.seen.get(id);
    if (seen === true) return answer(Uint8Array.of(R_OK));
    if (seen === false) return; // in progress: the first answer will come
    const tx = ex.handle as Sender<unknown>;
    if (tx.closed || tx.isDisconnected) return answer(Uint8Array.of(R_GONE));
    let value: unknown;
    try {
      value = decode(data.subarray(2 + idLen), this);
    } catch (e) {
      return answer(errorReply(e));
    }
    ex.seen.set(id, false);
    if (ex.seen.size > 4096) ex.seen.delete(ex.seen.keys().next().value as string);
    ex.pendingSends++;
    tx.send(value).then(
      () => {
        ex.seen.set(id, true);
        ex.pendingSends--;
        answer(Uint8Array.of(R_OK));
        if (ex.refs <= 0) this.retire(ex);
      },
      () => {
        ex.seen.delete(id);
        ex.pendingSends--;
        answer(Uint8Array.of(R_GONE));
        if (ex.refs <= 0) this.retire(ex);
      },
    );
  }

  private serveRecv(ex: Export, answer: (b: Uint8Array) => void): void {
    const rx = ex.handle as Receiver<unknown>;
    if (rx.closed) return answer(Uint8Array.of(R_GONE));
    const ac = new AbortController();
    ex.pendingRecvs.add(ac);
    rx.recv({ signal: ac.signal }).then(
      (v) => {
        ex.pendingRecvs.delete(ac);
        let bytes: Uint8Array;
        try {
          bytes = encode(v, this, this.link.settings.maxMessageBytes);
        } catch (e) {
          return answer(errorReply(e));
        }
        const out = new Uint8Array(bytes.length + 1);
        out[0] = R_VALUE;
        out.set(bytes, 1);
        answer(out);
      },
      (e: unknown) => {
        ex.pendingRecvs.delete(ac);
        if (e instanceof RecvError || rx.closed) answer(Uint8Array.of(R_GONE));
      },
    );
  }

  close(): void {
    this.closed = true;
    clearInterval(this.sweeper);
    this.sub.unsubscribe();
    for (const ex of this.exports.values()) {
      for (const ac of ex.pendingRecvs) ac.abort();
      ex.handle.close();
    }
    this.exports.clear();
  }
}

function errorReply(e: unknown): Uint8Array {
  const msg = TE.encode(e instanceof Error ? e.message : String(e));
  const out = new Uint8Array(msg.length + 1);
  out[0] = R_ERROR;
  out.set(msg, 1);
  return out;
}

/** The creator shown by leak warnings for handles that arrived inside messages. */
function importHandleCreator(): void {}

interface InFlight {
  bytes: Uint8Array;
  deadline: number;
  tries: number;
}

/**
 * The core of a handle whose channel lives in another process and was
 * exported there: sends and receives are requests to the owner.
 */
export class ForeignCore<T> implements ChannelCore<T> {
  private holders = 1;
  private gone = false;
  private readonly sendq = new WaiterList<T>();
  private readonly recvq = new WaiterList<T>();
  private readonly sendObs = new Observers();
  private readonly recvObs = new Observers();
  private readonly inflight = new Map<number, InFlight>();
  private seq = 0;
  private readonly route: string;
  private readonly idPrefix: string;
  private recvPending = false;
  private readonly values: T[] = [];
  private sweeper: ReturnType<typeof setInterval> | null = null;

  constructor(
    readonly link: Link,
    private readonly transport: HandleTransport,
    readonly subject: string,
    private readonly side: Side,
    readonly capacity: number | undefined,
  ) {
    this.route = link.addRoute((m, rest) => this.onReply(m, rest));
    this.idPrefix = link.newId();
  }

  len(): number {
    return this.values.length;
  }
  isFull(): boolean {
    return false;
  }
  isDisconnected(): boolean {
    return this.gone;
  }
  acquire(_side: Side): void {
    this.holders++;
  }
  release(_side: Side): void {
    if (--this.holders > 0) return;
    this.transport.remoteOp(this.subject, OP_RELEASE);
    this.link.removeRoute(this.route);
    if (this.sweeper !== null) clearInterval(this.sweeper);
    this.sweeper = null;
  }
  failOwner(owner: object, error: (w: Waiter<T>) => Error): void {
    for (const w of this.sendq.takeOwnedBy(owner)) w.failed(error(w));
    for (const w of this.recvq.takeOwnedBy(owner)) w.failed(error(w));
  }

  trySend(value: T): TrySendStatus {
    if (this.gone) return DISCONNECTED;
    if (this.sendq.size > 0 || this.inflight.size >= 16) return FULL;
    this.post(OP_SEND, encode(value, this.transport, this.link.settings.maxMessageBytes));
    return SENT;
  }
  canSend(): boolean {
    return this.gone || (this.sendq.size === 0 && this.inflight.size < 16);
  }
  parkSend(w: Waiter<T>): void {
    if (this.gone) return w.disconnected();
    this.sendq.push(w);
  }

  tryRecv(): TryRecvStatus<T> {
    if (this.values.length > 0) return this.values.shift()!;
    if (this.gone) return DISCONNECTED;
    this.askRecv();
    return EMPTY;
  }
  canRecv(): boolean {
    return this.values.length > 0 || this.gone;
  }
  parkRecv(w: Waiter<T>): void {
    if (this.gone) return w.disconnected();
    this.recvq.push(w);
    this.askRecv();
  }

  cancel(w: Waiter<T>): void {
    if (w.list === this.sendq) this.sendq.remove(w);
    else if (w.list === this.recvq) this.recvq.remove(w);
  }
  observe(side: Side, o: Observer): void {
    (side === 'send' ? this.sendObs : this.recvObs).add(o);
    if (side === 'recv') this.askRecv();
  }
  unobserve(side: Side, o: Observer): void {
    (side === 'send' ? this.sendObs : this.recvObs).delete(o);
  }

  private askRecv(): void {
    if (this.recvPending || this.gone || this.side !== 'recv') return;
    this.recvPending = true;
    this.link.publishRaw(this.subject, Uint8Array.of(OP_RECV), `${this.route}.r`);
  }

  private post(op: number, payload: Uint8Array): void {
    const n = ++this.seq;
    const id = TE.encode(`${this.idPrefix}.${n}`);
    const bytes = new Uint8Array(2 + id.length + payload.length);
    bytes[0] = op;
    bytes[1] = id.length;
    bytes.set(id, 2);
    bytes.set(payload, 2 + id.length);
    this.inflight.set(n, { bytes, deadline: now() + this.link.settings.pubRetryMs, tries: 1 });
    this.link.publishRaw(this.subject, bytes, `${this.route}.${n}`);
    if (this.sweeper === null) {
      this.sweeper = setInterval(() => this.sweep(), this.link.settings.pubRetryMs);
      this.sweeper.unref();
    }
  }

  private sweep(): void {
    if (!this.link.connected) return;
    const t = now();
    for (const [n, f] of this.inflight) {
      if (f.deadline > t) continue;
      f.tries++;
      f.deadline = t + this.link.settings.pubRetryMs * Math.min(8, f.tries);
      this.link.publishRaw(this.subject, f.bytes, `${this.route}.${n}`);
    }
  }

  private onReply(m: Msg, rest: string): void {
    const code = m.headers?.code ?? 0;
    const kind = code === 503 ? R_GONE : m.data[0];
    if (rest === 'r') {
      this.recvPending = false;
      if (kind === R_VALUE) {
        let v: T;
        try {
          v = decode(m.data.subarray(1), this.transport) as T;
        } catch {
          this.askRecv();
          return;
        }
        const w = this.recvq.shift();
        if (w !== null) w.received(v);
        else {
          this.values.push(v);
          this.recvObs.notify();
        }
        if (this.recvq.size > 0) this.askRecv();
        return;
      }
      if (kind === R_GONE) this.disconnect();
      return;
    }
    const n = Number(rest);
    if (!this.inflight.delete(n)) return;
    if (kind === R_GONE) {
      this.disconnect();
      return;
    }
    // R_OK, or R_ERROR (the owner could not decode: nothing more to do)
    while (this.sendq.size > 0 && this.inflight.size < 16) {
      const w = this.sendq.shift()!;
      let bytes: Uint8Array;
      try {
        bytes = encode(w.value, this.transport, this.link.settings.maxMessageBytes);
      } catch (e) {
        w.failed(e as Error);
        continue;
      }
      this.post(OP_SEND, bytes);
      w.sent();
    }
    if (this.inflight.size < 16) this.sendObs.notify();
  }

  private disconnect(): void {
    if (this.gone) return;
    this.gone = true;
    this.inflight.clear();
    for (const w of this.sendq.takeAll()) w.disconnected();
    if (this.values.length === 0) for (const w of this.recvq.takeAll()) w.disconnected();
    this.sendObs.notify();
    this.recvObs.notify();
  }
}
