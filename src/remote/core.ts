/**
 * `StreamCore`: the ChannelCore of a named remote channel (JetStream), so
 * that the ordinary Sender, Receiver and select work on it unchanged.
 *
 * One core per channel name per link; every handle of that name on that
 * link (clones, re-opens, handles that arrived inside messages) shares it.
 * The core counts its local Senders and Receivers; the first of a side
 * starts that side (the send window, or the receive buffer, and a presence
 * record), the last one stops it (flushes the window and writes the close
 * marker; hands the buffer back).
 *
 * The synchronous half of the contract answers from local state:
 * `trySend` accepts into the send window when it has room and credit;
 * `tryRecv` takes from the receive buffer. Parked waiters are completed
 * later, when network events change that state (acks, credits, arrivals,
 * presence), and observers are notified then.
 *
 * Disconnection: the receiving side is disconnected once every Sender
 * instance in every process is gone (closed, or silent for `graceMs`) and
 * the channel is drained (nothing pending or unacknowledged in the consumer,
 * nothing buffered here); the sending side once every Receiver instance is
 * gone.
 *
 * @internal
 */
import { DISCONNECTED, EMPTY, FULL, SENT, type ChannelCore, type Side, type TryRecvStatus, type TrySendStatus } from '../channel/core.js';
import { Observers, WaiterList, type Observer, type Waiter } from '../channel/waiter.js';
import { CodecFailure, decode, encode } from './codec.js';
import { ReceiveBuffer, type Delivery } from './buffer.js';
import { DecodeError, RemoteError } from './errors.js';
import type { Link } from './link.js';
import type { ChannelNames } from './names.js';
import { Presence } from './presence.js';
import { SendWindow } from './window.js';
import type { Subscription } from '@nats-io/transport-node';

const now = (): number => performance.now();

/** Per-channel tuning, from the link's settings and the open call. */
export interface ChannelTuning {
  prefetch: number;
}

export class StreamCore<T> implements ChannelCore<T> {
  capacity: number | undefined;
  private senders = 0;
  private receivers = 0;
  private readonly sendq = new WaiterList<T>();
  private readonly recvq = new WaiterList<T>();
  private readonly sendObs = new Observers();
  private readonly recvObs = new Observers();
  private window: SendWindow | null = null;
  private buffer: ReceiveBuffer | null = null;
  private roomSub: Subscription | null = null;
  readonly presence: Presence;
  private isReady = false;
  /** Every Sender gone and the channel drained. */
  private sendersGone = false;
  /** Every Receiver gone. */
  private receiversGone = false;
  /** The link closed, or setup failed: everything is over. */
  private dead = false;
  private lastDemand = -Infinity;
  /**
   * A receive happened since `lastDemand` was last set: the clock is read
   * when someone asks (`active`, at least every sweep of the buffer), not on
   * every receive.
   */
  private demanded = false;
  private checking = false;
  private recheck: ReturnType<typeof setTimeout> | null = null;
  private knownStored = 0;
  /** Side stops still writing their close marker. */
  private stopping = 0;
  /** Send windows of closed Senders still flushing: link.flush() and close() wait for them too. */
  private readonly draining = new Set<SendWindow>();
  /** @internal Resolves when the streams exist and presence is read. */
  ready: Promise<void>;

  constructor(
    readonly link: Link,
    readonly names: ChannelNames,
    private readonly tuning: ChannelTuning,
    setup: (core: StreamCore<T>) => Promise<number | undefined>,
  ) {
    this.capacity = undefined;
    this.presence = new Presence(link, names, () => this.presenceChanged());
    this.ready = setup(this).then(
      async (capacity) => {
        this.capacity = capacity;
        await this.presence.start();
        this.isReady = true;
        if (this.senders > 0) this.startSend();
        if (this.receivers > 0) this.startRecv();
        this.presenceChanged();
      },
      (e: unknown) => {
        this.kill();
        throw e;
      },
    );
    this.ready.catch(() => undefined);
  }

  /** True while any handle of this core is open or a side is still stopping. */
  get inUse(): boolean {
    return this.senders > 0 || this.receivers > 0 || this.stopping > 0;
  }

  len(): number {
    // An estimate: remote state is only known as of the last answer from the server.
    const buffered = this.buffer?.length ?? 0;
    return Math.max(this.knownStored, buffered, this.window?.storedEstimate() ?? 0);
  }

  isFull(): boolean {
    return this.capacity !== undefined && this.len() >= this.capacity;
  }

  isDisconnected(): boolean {
    return this.dead || this.receiversGone || this.sendersGone;
  }

  acquire(side: Side): void {
    if (side === 'send') {
      if (++this.senders === 1 && this.isReady) this.startSend();
    } else if (++this.receivers === 1 && this.isReady) this.startRecv();
  }

  release(side: Side): void {
    if (side === 'send') {
      if (--this.senders === 0) this.stopSend();
    } else if (--this.receivers === 0) this.stopRecv();
  }

  failOwner(owner: object, error: (w: Waiter<T>) => Error): void {
    for (const w of this.sendq.takeOwnedBy(owner)) w.failed(error(w));
    for (const w of this.recvq.takeOwnedBy(owner)) w.failed(error(w));
  }

  // ---- sending

  trySend(value: T): TrySendStatus {
    if (this.dead || this.receiversGone) return DISCONNECTED;
    const win = this.window;
    if (win === null || this.sendq.size > 0 || !win.hasRoom()) {
      win?.want();
      return FULL;
    }
    win.push(this.encode(value));
    return SENT;
  }

  canSend(): boolean {
    if (this.dead || this.receiversGone) return true;
    return this.window !== null && this.sendq.size === 0 && this.window.hasRoom();
  }

  parkSend(w: Waiter<T>): void {
    if (this.dead || this.receiversGone) {
      w.disconnected();
      return;
    }
    this.sendq.push(w);
    this.window?.want();
    this.pump();
  }

  private encode(value: T): Uint8Array {
    return encode(value, this.link.hooks, this.link.settings.maxMessageBytes);
  }

  /** Moves parked sends into the window while it has room. */
  private pump(): void {
    const win = this.window;
    if (win === null) return;
    while (this.sendq.size > 0 && win.hasRoom()) {
      const w = this.sendq.shift()!;
      let bytes: Uint8Array;
      try {
        bytes = this.encode(w.value);
      } catch (e) {
        w.failed(e as Error);
        continue;
      }
      win.push(bytes);
      w.sent();
    }
    if (this.sendq.size > 0) win.want();
    else if (win.hasRoom()) this.sendObs.notify();
  }

  private startSend(): void {
    const win = new SendWindow(this.link, this.names.dataSubject, this.names.dataStream, this.capacity, {
      room: () => this.pump(),
      senders: () => Math.max(1, this.presence.live('send')),
      receiversGone: () => this.receiversGone,
    });
    win.sendersSeen(this.presence.live('send'));
    this.window = win;
    this.roomSub = this.link.nc.subscribe(this.names.roomSubject, { callback: () => win.hint() });
    void this.presence.open('send').catch(() => undefined);
    this.pump();
  }

  private stopSend(): void {
    const win = this.window;
    this.window = null;
    this.roomSub?.unsubscribe();
    this.roomSub = null;
    if (!this.isReady || win === null) return;
    this.stopping++;
    this.draining.add(win);
    void (async () => {
      try {
        await this.link.untilSettled(win.flush());
        await this.presence.close('send');
      } catch {
        // link closed meanwhile
      } finally {
        this.draining.delete(win);
        win.close();
        this.stopping--;
        this.link.forgetIfUnused(this);
      }
    })();
  }

  // ---- receiving

  tryRecv(): TryRecvStatus<T> {
    if (this.dead) return DISCONNECTED;
    this.demanded = true;
    const buf = this.buffer;
    if (buf === null) return EMPTY;
    const d = buf.take();
    if (d !== undefined) return this.open(d);
    if (this.sendersGone) return DISCONNECTED;
    buf.pull();
    return EMPTY;
  }

  canRecv(): boolean {
    return this.dead || (this.buffer !== null && this.buffer.length > 0) || this.sendersGone;
  }

  parkRecv(w: Waiter<T>): void {
    if (this.dead || this.sendersGone) {
      w.disconnected();
      return;
    }
    this.recvq.push(w);
    this.lastDemand = now();
    this.buffer?.pull();
  }

  /** Decodes a delivered message; malformed bytes become a DecodeError. */
  private open(d: Delivery): T {
    try {
      return decode(d.data, this.link.hooks) as T;
    } catch (e) {
      if (e instanceof CodecFailure) throw new DecodeError(e.message, d.data, this.names.name);
      throw e;
    }
  }

  /** Hands buffered messages to parked receivers. */
  private deliver(): void {
    const buf = this.buffer;
    if (buf === null) return;
    while (this.recvq.size > 0 && buf.length > 0) {
      const w = this.recvq.shift()!;
      const d = buf.take()!;
      let v: T;
      try {
        v = this.open(d);
      } catch (e) {
        w.failed(e as Error);
        continue;
      }
      w.received(v);
    }
    if (buf.length > 0) this.recvObs.notify();
  }

  private startRecv(): void {
    this.buffer = new ReceiveBuffer(this.link, this.names, this.tuning.prefetch, {
      active: () => {
        if (this.recvq.size > 0 || this.recvObs.size > 0) return true;
        const t = now();
        if (this.demanded) {
          this.demanded = false;
          this.lastDemand = t;
          return true;
        }
        return t - this.lastDemand < this.link.settings.lingerMs;
      },
      arrived: () => this.deliver(),
      pullEnded: () => this.checkDrained(),
    });
    void this.presence.open('recv').catch(() => undefined);
    this.buffer.pull();
  }

  private stopRecv(): void {
    const buf = this.buffer;
    this.buffer = null;
    if (!this.isReady || buf === null) return;
    buf.close();
    this.stopping++;
    void this.presence
      .close('recv')
      .catch(() => undefined)
      .finally(() => {
        this.stopping--;
        this.link.forgetIfUnused(this);
      });
  }

  // ---- presence and disconnection

  private presenceChanged(): void {
    if (!this.isReady || this.dead) return;
    this.window?.sendersSeen(this.presence.live('send'));
    const rGone = this.presence.gone('recv');
    if (rGone !== this.receiversGone) {
      this.receiversGone = rGone;
      if (rGone) {
        for (const w of this.sendq.takeAll()) w.disconnected();
      }
      this.sendObs.notify();
      if (!rGone) this.pump();
    }
    if (!this.presence.gone('send')) {
      if (this.sendersGone) {
        this.sendersGone = false;
        this.buffer?.pull();
      }
      return;
    }
    this.checkDrained();
  }

  /** Senders are gone: once nothing is left for us, receivers see the disconnection. */
  private checkDrained(): void {
    const buf = this.buffer;
    if (this.dead || this.sendersGone || buf === null || this.checking || !this.presence.gone('send')) return;
    if (buf.length > 0 || buf.unconfirmedAcks > 0) return;
    this.checking = true;
    void this.link
      .consumerPending(this.names.dataStream, this.names.consumer)
      .then(
        (pending) => {
          this.checking = false;
          this.knownStored = pending;
          if (this.buffer !== buf || this.dead || this.sendersGone || !this.presence.gone('send')) return;
          if (pending === 0 && buf.length === 0 && buf.unconfirmedAcks === 0) {
            this.sendersGone = true;
            for (const w of this.recvq.takeAll()) w.disconnected();
            this.recvObs.notify();
          } else {
            this.scheduleRecheck();
          }
        },
        () => {
          this.checking = false;
          this.scheduleRecheck();
        },
      );
  }

  private scheduleRecheck(): void {
    if (this.recheck !== null || this.dead) return;
    this.recheck = setTimeout(() => {
      this.recheck = null;
      this.buffer?.pull();
      this.checkDrained();
    }, 250);
    this.recheck.unref();
  }

  // ---- waiting and observing

  cancel(w: Waiter<T>): void {
    if (w.list === this.sendq) this.sendq.remove(w);
    else if (w.list === this.recvq) this.recvq.remove(w);
  }

  observe(side: Side, o: Observer): void {
    if (side === 'send') {
      this.sendObs.add(o);
      this.window?.want();
    } else {
      this.recvObs.add(o);
      this.lastDemand = now();
      this.buffer?.pull();
    }
  }

  unobserve(side: Side, o: Observer): void {
    (side === 'send' ? this.sendObs : this.recvObs).delete(o);
  }

  // ---- link events

  /** @internal The connection dropped. */
  paused(): void {
    this.presence.pause();
    this.window?.pause();
  }

  /** @internal The connection is back. */
  resumed(): void {
    this.presence.resume();
    this.window?.resume();
    this.buffer?.resume();
  }

  /** @internal Waits until everything this core accepted is stored. */
  flush(): Promise<void> {
    const wins = [...this.draining];
    if (this.window !== null) wins.push(this.window);
    return Promise.all(wins.map((w) => w.flush())).then(() => undefined);
  }

  /** Messages accepted by a send and not yet stored, closed Senders included. */
  unstored(): number {
    let n = this.window?.size ?? 0;
    for (const w of this.draining) n += w.size;
    return n;
  }

  /** @internal Ends everything: the link closes (or setup failed). */
  kill(): void {
    if (this.dead) return;
    this.dead = true;
    for (const w of this.sendq.takeAll()) w.disconnected();
    for (const w of this.recvq.takeAll()) w.disconnected();
    this.sendObs.notify();
    this.recvObs.notify();
    if (this.recheck !== null) clearTimeout(this.recheck);
    this.window?.close();
    this.buffer?.close();
    this.roomSub?.unsubscribe();
    this.presence.stop();
  }

  /**
   * @internal Graceful end at link close: flush (up to `ms`), write close
   * markers, hand back the buffer. Returns how many sent messages were left
   * unstored (lost) because the flush timed out.
   */
  async shutdown(deadline: number): Promise<number> {
    let lost = 0;
    try {
      await this.link.untilSettled(this.flush(), msUntil(deadline));
    } catch {
      lost = this.unstored();
    }
    this.buffer?.close();
    const closes: Promise<void>[] = [];
    if (this.senders > 0) closes.push(this.presence.close('send'));
    if (this.receivers > 0) closes.push(this.presence.close('recv'));
    // Close markers let other processes see these handles gone at once. One
    // that cannot be written by the deadline (the server is down) is given
    // up: the others then notice by the liveness grace period instead.
    await this.link.untilSettled(Promise.allSettled(closes).then(() => undefined), msUntil(deadline)).catch(() => undefined);
    this.kill();
    return lost;
  }

  /** @internal For errors: which channel. */
  describe(): string {
    return `remote channel "${this.names.name}"`;
  }
}

/** Milliseconds left until `deadline` (performance.now() ms; Infinity stays Infinity). @internal */
export function msUntil(deadline: number): number {
  return Math.max(0, deadline - performance.now());
}

export { RemoteError };
