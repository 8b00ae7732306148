/**
 * The send window of a remote channel: messages accepted by `send` that the
 * server has not yet confirmed as stored.
 *
 * When does a send count as done? A remote `send` (or `trySend`) completes
 * when the message is *accepted into the window*: encoded, given a message
 * id, and queued for publication (published at once while connected). From
 * then on weft owns its delivery: it is published as a plain NATS message
 * with a reply subject, the stream's acknowledgement is collected on the
 * link's one wildcard reply subscription, and it is re-published with the
 * same message id (`Nats-Msg-Id`, so the stream stores it once) when no
 * acknowledgement came within `pubRetryMs`, after a reconnect, or after the
 * stream refused it. `flush()` (and `link.flush()`) waits until every
 * accepted message is stored. A message still in the window is lost only if
 * this process dies, or dropped (like a local channel's buffer) when the
 * stream refuses it for lack of room once every receiver is gone.
 *
 * The window is bounded by `sendsInFlight` messages and `sendBytesInFlight`
 * bytes. On a bounded channel it is also bounded by *credits*: room in the
 * stream this sender may use without being refused. Credits come from the
 * stream's message count (a `STREAM.INFO` request, asked again before they
 * run out) shared among the live Sender instances; receivers publish a room
 * hint after acknowledging, so a sender waiting on a full channel asks again
 * at once (it also asks with a backoff from 2 ms to 250 ms, in case a hint
 * is lost).
 *
 * Order. The gate decides what may be in flight:
 * - `open`: every accepted message is published at once, in order, on one
 *   connection (so the server stores them in order).
 * - `probe`: after a reconnect, or when the stream refused a message (not
 *   available yet after a restart, or full), only the oldest unconfirmed
 *   message is (re-)published, with a backoff, until it is stored. A burst
 *   could otherwise be stored in part — later messages before earlier ones.
 * - `room` (bounded channels): after a probe succeeded, the remaining
 *   messages are re-published in order only as far as the stream has room.
 *
 * Depth. A bounded stream refuses a message when it is full; if a later
 * message of the same sender was already in flight and the stream had room
 * again when it arrived, it would be stored first. Credits make a refusal
 * impossible for a lone sender (only it adds messages, receivers only take
 * them away), so a lone sender pipelines up to `sendsInFlight`. With several
 * live senders the shares can overlap, so each sends one message at a time
 * and a refusal can never reorder its own messages. The switch is one way:
 * once this sender has seen another one (or a refusal for lack of room), it
 * stays at one at a time, since presence news of a newcomer can arrive after
 * the newcomer's first messages.
 *
 * @internal
 */
import type { Msg } from '@nats-io/transport-node';
import type { Link } from './link.js';

interface Entry {
  seq: number;
  bytes: Uint8Array;
  /** 0: not in flight; 1: published, awaiting the stream's ack. */
  state: 0 | 1;
  deadline: number;
  tries: number;
}

const now = (): number => performance.now();
const TD = new TextDecoder();

/** JetStream errors that mean "no room now". */
const NO_ROOM = new Set([10077, 10047, 10054, 10028]);

export interface WindowHost {
  /** Room may have opened: pump parked senders, notify observers. */
  room(): void;
  /** Live Sender instances of the channel (at least 1). */
  senders(): number;
  /** True once every receiver is gone: messages the stream refuses for lack of room are dropped. */
  receiversGone(): boolean;
}

type Gate = 'open' | 'probe' | 'room';

export class SendWindow {
  private readonly entries = new Map<number, Entry>();
  private bytes = 0;
  /** Entries published and awaiting the stream's ack (state 1). */
  private flying = 0;
  /** Another sender was seen, or the stream refused for room: one message in flight from now on. */
  private contended = false;
  private nextSeq = 1;
  /** Messages accepted in total (for credit snapshots). */
  private accepted = 0;
  /** Messages this sender may still accept before it must ask for room. */
  private credit: number;
  /** Messages in the stream at the last count, and `accepted` when it was asked. */
  private lastCount = 0;
  private lastMark = 0;
  private gate: Gate = 'open';
  private refreshing = false;
  private backoff = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private readonly route: string;
  private sweeper: ReturnType<typeof setInterval> | null = null;
  private flushWaiters: Array<() => void> = [];
  private closed = false;
  private readonly idPrefix: string;

  constructor(
    private readonly link: Link,
    private readonly subject: string,
    private readonly stream: string,
    private readonly capacity: number | undefined,
    private readonly host: WindowHost,
  ) {
    this.credit = capacity === undefined ? Infinity : 0;
    this.idPrefix = link.newId();
    this.route = link.addOwnRoute((m, rest) => this.onAck(m, rest));
    this.sweeper = setInterval(() => this.sweep(), Math.max(50, Math.floor(link.settings.pubRetryMs / 2)));
    this.sweeper.unref();
    if (capacity !== undefined) this.refresh();
  }

  /** Messages accepted and not yet stored. */
  get size(): number {
    return this.entries.size;
  }

  /** Estimated messages in the channel: the last count, plus what this sender accepted since. */
  storedEstimate(): number {
    const est = this.lastCount + (this.accepted - this.lastMark);
    return this.capacity === undefined ? est : Math.min(this.capacity, est);
  }

  /** Can one more message be accepted now? */
  hasRoom(): boolean {
    const s = this.link.settings;
    return !this.closed && this.credit >= 1 && this.entries.size < s.sendsInFlight && this.bytes < s.sendBytesInFlight;
  }

  /** Someone wants to send and there is no room: make sure room is being asked for. */
  want(): void {
    if (this.capacity !== undefined && this.credit < 1 && !this.refreshing && this.timer === null) this.refresh();
  }

  /** A receiver freed room somewhere: ask again now if starving or waiting for room. */
  hint(): void {
    if (this.capacity === undefined) return;
    if (this.credit >= 1 && this.gate === 'open') return;
    this.clearTimer();
    if (this.gate === 'probe') {
      this.backoff = 0;
      this.probe(); // the refused oldest message may fit now
      return;
    }
    this.refresh();
  }

  /** Accepts one encoded message (the caller checked `hasRoom()`). */
  push(bytes: Uint8Array): void {
    const e: Entry = { seq: this.nextSeq++, bytes, state: 0, deadline: 0, tries: 0 };
    this.entries.set(e.seq, e);
    this.bytes += bytes.byteLength;
    this.accepted++;
    this.credit--;
    // only when nothing older waits (held back by the depth limit): never overtake
    if (this.gate === 'open' && this.link.connected && this.flying === this.entries.size - 1 && this.flying < this.depth()) this.transmit(e);
    if (this.capacity !== undefined && !this.refreshing && this.timer === null && this.credit <= this.lowWater()) this.refresh();
  }

  /** Resolves once every accepted message is stored (or dropped because every receiver is gone). */
  flush(): Promise<void> {
    if (this.entries.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.flushWaiters.push(resolve));
  }

  /** The connection dropped: whatever was in flight is uncertain. */
  pause(): void {
    this.land();
    this.enterProbe(false);
  }

  /** The connection is back: probe with the oldest unconfirmed message, then the rest in order. */
  resume(): void {
    this.land();
    this.backoff = 0;
    this.enterProbe(true);
  }

  /** Stops timers and routes; unconfirmed messages are abandoned. */
  close(): void {
    this.closed = true;
    if (this.sweeper !== null) clearInterval(this.sweeper);
    this.sweeper = null;
    this.clearTimer();
    this.link.removeRoute(this.route);
    this.entries.clear();
    this.bytes = 0;
    this.flying = 0;
    this.settleFlush();
  }

  private lowWater(): number {
    const s = this.link.settings;
    return Math.floor(Math.min(this.capacity ?? Infinity, s.sendsInFlight) / 4);
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  /** How many messages may be in flight at once (see "Depth" above). */
  private depth(): number {
    return this.contended ? 1 : Infinity;
  }

  /** Presence changed: once another live Sender instance is seen, keep one message in flight for good. */
  sendersSeen(live: number): void {
    if (this.capacity !== undefined && live > 1) this.contended = true;
  }

  /** Forgets what is in flight (its fate is unknown). */
  private land(): void {
    for (const e of this.entries.values()) e.state = 0;
    this.flying = 0;
  }

  private transmit(e: Entry): void {
    if (e.state === 0) this.flying++;
    e.state = 1;
    e.tries++;
    e.deadline = now() + this.link.settings.pubRetryMs * Math.min(8, e.tries);
    this.link.publishWithId(this.subject, e.bytes, this.idPrefix, this.route, e.seq);
  }

  private first(): Entry | undefined {
    return this.entries.values().next().value as Entry | undefined;
  }

  /** Only the oldest unconfirmed message may be in flight; (re)publish it now or after a backoff. */
  private enterProbe(now_: boolean): void {
    this.gate = 'probe';
    this.clearTimer();
    if (this.entries.size === 0) {
      this.leaveProbe();
      return;
    }
    if (now_) {
      this.probe();
      return;
    }
    this.backoff = this.backoff === 0 ? 2 : Math.min(250, this.backoff * 2);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.probe();
    }, this.backoff);
    this.timer.unref();
  }

  private probe(): void {
    if (this.closed || this.gate !== 'probe' || !this.link.connected) return;
    const e = this.first();
    if (e === undefined) return this.leaveProbe();
    if (e.state === 0) this.transmit(e);
  }

  /** The probe was stored: let the rest through, in order (bounded: as far as there is room). */
  private leaveProbe(): void {
    if (this.capacity === undefined) {
      this.gate = 'open';
      this.credit = Infinity;
      this.releaseInOrder(Infinity);
      this.host.room();
      return;
    }
    this.gate = 'room';
    this.refresh();
  }

  /** Publishes the messages not in flight, in order, at most `room` of them; returns how many it published. */
  private releaseInOrder(room: number): number {
    if (!this.link.connected) return 0;
    let n = 0;
    const depth = this.depth();
    for (const e of this.entries.values()) {
      if (e.state !== 0) continue;
      if (n >= room || this.flying >= depth) return n;
      this.transmit(e);
      n++;
    }
    return n;
  }

  private unsent(): number {
    let n = 0;
    for (const e of this.entries.values()) if (e.state === 0) n++;
    return n;
  }

  private onAck(m: Msg, seq: number): void {
    const e = this.entries.get(seq);
    if (e === undefined || e.state !== 1) return; // a late duplicate, or a reply to an attempt we gave up on
    const d = m.data;
    // fast path: a PubAck is `{"stream":…,"seq":…}`; an error starts with `{"error"`
    if (d.length > 2 && d[0] === 0x7b && d[2] === 0x73 /* s */) return this.stored(e);
    const code = d.length === 0 ? (m.headers?.code ?? 0) : 0;
    let failed = code === 503 || d.length === 0; // no responders: the stream is not there (yet)
    let noRoom = false;
    if (!failed) {
      let ack: { seq?: number; error?: { err_code?: number } };
      try {
        ack = JSON.parse(TD.decode(m.data)) as typeof ack;
      } catch {
        return; // not an ack: the deadline will republish
      }
      if (ack.error !== undefined) {
        failed = true;
        noRoom = NO_ROOM.has(ack.error.err_code ?? 0);
      }
    }
    if (!failed) return this.stored(e);
    if (noRoom && this.host.receiversGone()) return this.stored(e); // nobody will ever make room: dropped, like a local buffer
    e.state = 0;
    this.flying--;
    if (noRoom) {
      this.credit = Math.min(this.credit, 0);
      if (this.capacity !== undefined) this.contended = true;
    }
    if (this.gate !== 'probe' || e === this.first()) this.enterProbe(false);
  }

  private stored(e: Entry): void {
    const wasFirst = e === this.first();
    if (e.state === 1) this.flying--;
    this.entries.delete(e.seq);
    this.bytes -= e.bytes.byteLength;
    if (this.entries.size === 0) this.settleFlush();
    if (this.gate === 'probe' && wasFirst) {
      this.backoff = 0;
      this.clearTimer();
      this.leaveProbe();
    } else if (this.gate === 'open' && this.flying < this.entries.size) {
      this.releaseInOrder(Infinity); // messages held back by the depth limit
    } else if (this.gate === 'room' && this.flying === 0) {
      this.clearTimer();
      this.refresh(); // held back by the depth limit, not only by room: ask now
    }
    this.host.room();
  }

  private settleFlush(): void {
    const ws = this.flushWaiters;
    if (ws.length === 0) return;
    this.flushWaiters = [];
    for (const w of ws) w();
  }

  private scheduleRefresh(): void {
    this.backoff = this.backoff === 0 ? 2 : Math.min(250, this.backoff * 2);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.refresh();
    }, this.backoff);
    this.timer.unref();
  }

  /** Asks the stream how full it is; recomputes the credit; in the `room` gate, lets waiting messages through. */
  private refresh(): void {
    if (this.closed || this.refreshing || this.capacity === undefined) return;
    if (!this.link.connected) return; // resume() starts over
    this.refreshing = true;
    const mark = this.accepted;
    const cap = this.capacity;
    this.link.streamMessages(this.stream).then(
      (messages) => {
        this.refreshing = false;
        if (this.closed) return;
        this.lastCount = messages;
        this.lastMark = mark;
        const share = Math.floor((cap - messages) / Math.max(1, this.host.senders()));
        if (this.gate === 'room') {
          const waiting = this.unsent();
          // `allowed` may exceed what goes out now (the depth limit): once the
          // gate is open, stored() lets the rest through one by one
          const allowed = Math.min(waiting, Math.max(0, share));
          this.releaseInOrder(allowed);
          if (allowed === waiting) this.gate = 'open';
          // what was released was already counted in its credit when accepted
          this.credit = share - allowed - (this.accepted - mark);
          if (this.gate === 'room') {
            if (this.timer === null) this.scheduleRefresh();
            return;
          }
        } else {
          // messages accepted since the question may or may not be counted: assume not
          this.credit = share - (this.accepted - mark);
        }
        if (this.gate === 'probe') return;
        if (this.credit >= 1) {
          this.backoff = 0;
          this.host.room();
        } else if (this.timer === null) {
          this.scheduleRefresh();
        }
      },
      () => {
        this.refreshing = false;
        if (!this.closed && this.timer === null) this.scheduleRefresh();
      },
    );
  }

  /** Re-publishes messages whose acknowledgement is overdue. */
  private sweep(): void {
    if (!this.link.connected || this.entries.size === 0 || this.closed) return;
    const t = now();
    if (this.gate === 'probe') {
      const e = this.first();
      if (e !== undefined && e.state === 1 && e.deadline <= t) this.transmit(e);
      return;
    }
    for (const e of this.entries.values()) {
      if (e.state === 1 && e.deadline <= t) this.transmit(e);
    }
  }
}
