/**
 * Liveness and disconnection across processes: who holds Senders and
 * Receivers of a named channel.
 *
 * Every process (more exactly, every link) that holds handles of one side of
 * a channel is an *instance* of that side. An instance writes a record
 * `{ s: 'open' }` on `…p.<side>.<instance>` when its side opens, repeats it
 * as a heartbeat every `graceMs / 4`, and writes `{ s: 'closed' }` when its
 * last handle of that side closes (a Sender instance first waits until every
 * message it sent is stored, so a receiver that sees the close marker also
 * sees the messages). The presence stream keeps the last record per
 * instance, so a process that starts later still learns about instances
 * that opened (and maybe closed) before it.
 *
 * An instance counts as gone when its close marker is seen, or when no
 * heartbeat of it arrived for `graceMs` (a crashed process). Heartbeats are
 * timed on the local clock when they arrive, so clocks of other machines do
 * not matter; while this link is disconnected nothing expires, and after a
 * reconnect every instance gets a fresh grace period.
 *
 * A side of the channel is *gone* once at least one instance of it was seen
 * and none is alive; that is what disconnection means across processes. (A
 * channel whose receivers never started is not disconnected for its
 * senders: the messages wait in the stream.)
 *
 * Records written with a handle that travels inside a message (`transit`)
 * keep a side alive while the message is on its way, without heartbeats,
 * until the receiving process opens its own instance (or `transitTtlMs`).
 *
 * @internal
 */
import type { Subscription } from '@nats-io/transport-node';
import type { Side } from '../channel/core.js';
import type { Link } from './link.js';
import type { ChannelNames } from './names.js';

interface Peer {
  side: Side;
  open: boolean;
  /** Local time (performance.now) of the last sign of life. */
  lastSeen: number;
  transit: boolean;
  /** Its close marker was seen: it never comes back. */
  closed: boolean;
}

interface PresenceRecord {
  s: 'open' | 'closed';
  transit?: boolean;
  host?: string;
  pid?: number;
}

const now = (): number => performance.now();
const TE = new TextEncoder();
const TD = new TextDecoder();

export class Presence {
  private readonly peers = new Map<string, Peer>();
  private readonly own = new Map<Side, string>();
  private readonly everSeen: Record<Side, boolean> = { send: false, recv: false };
  private sub: Subscription | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private frozen = false;
  private stopped = false;
  private snapshotting: Promise<void> | null = null;

  constructor(
    private readonly link: Link,
    private readonly names: ChannelNames,
    private readonly onChange: () => void,
  ) {}

  /** Subscribes to live records and reads the stored ones. */
  async start(): Promise<void> {
    this.sub = this.link.nc.subscribe(this.names.presenceSubjects, {
      callback: (err, m) => {
        if (err !== null) return;
        this.onRecord(m.subject, m.data, now());
      },
    });
    const every = Math.max(20, Math.floor(this.link.settings.graceMs / 4));
    this.timer = setInterval(() => this.tick(), every);
    this.timer.unref();
    await this.snapshot();
  }

  /** True once an instance of `side` was seen and none is alive now. */
  gone(side: Side): boolean {
    return this.everSeen[side] && this.live(side) === 0;
  }

  /** Live instances of `side` (this link's own included). */
  live(side: Side): number {
    let n = 0;
    for (const p of this.peers.values()) if (p.side === side && p.open) n++;
    return n;
  }

  /** Writes an `open` record for a side of this link and starts its heartbeats. */
  async open(side: Side): Promise<void> {
    let id = this.own.get(side);
    if (id === undefined) {
      id = this.link.newId();
      this.own.set(side, id);
    }
    this.peers.set(id, { side, open: true, lastSeen: now(), transit: false, closed: false });
    this.everSeen[side] = true;
    this.onChange();
    await this.link.publishDurably(this.names.presenceSubject(side, id), this.record('open'));
  }

  /** Writes the close marker of a side of this link. */
  async close(side: Side): Promise<void> {
    const id = this.own.get(side);
    if (id === undefined) return;
    this.own.delete(side);
    const p = this.peers.get(id);
    if (p !== undefined) {
      p.open = false;
      p.closed = true;
    }
    this.onChange();
    await this.link.publishDurably(this.names.presenceSubject(side, id), this.record('closed'));
  }

  /**
   * Writes an `open` transit record for a handle of `side` that is about to
   * travel inside a message; returns its id, for {@link endTransit}.
   */
  beginTransit(side: Side): string {
    const id = `t${this.link.newId()}`;
    this.peers.set(id, { side, open: true, lastSeen: now(), transit: true, closed: false });
    this.everSeen[side] = true;
    this.link.publishQuietly(this.names.presenceSubject(side, id), this.record('open', true));
    return id;
  }

  /** Ends a transit record (the handle arrived, or its message was dropped). */
  endTransit(side: Side, id: string): void {
    const p = this.peers.get(id);
    if (p !== undefined) {
      p.open = false;
      p.closed = true;
    }
    this.link.publishQuietly(this.names.presenceSubject(side, id), this.record('closed', true));
    this.onChange();
  }

  /** The connection dropped: nothing expires until it is back. */
  pause(): void {
    this.frozen = true;
  }

  /** The connection is back: fresh grace for everyone, re-read the stored records, re-announce. */
  resume(): void {
    this.frozen = false;
    const t = now();
    for (const p of this.peers.values()) if (p.lastSeen < t) p.lastSeen = t;
    for (const [side, id] of this.own) this.link.publishQuietly(this.names.presenceSubject(side, id), this.record('open'));
    void this.snapshot().catch(() => undefined);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.sub?.unsubscribe();
    this.sub = null;
  }

  private record(s: 'open' | 'closed', transit = false): Uint8Array {
    const r: PresenceRecord = { s, host: this.link.host, pid: process.pid };
    if (transit) r.transit = true;
    return TE.encode(JSON.stringify(r));
  }

  private tick(): void {
    if (this.stopped || this.frozen || !this.link.connected) return;
    for (const [side, id] of this.own) this.link.publishQuietly(this.names.presenceSubject(side, id), this.record('open'));
    const t = now();
    const grace = this.link.settings.graceMs;
    const ttl = this.link.settings.transitTtlMs;
    let changed = false;
    for (const [id, p] of this.peers) {
      if (!p.open || this.isOwn(id)) continue;
      if (t - p.lastSeen > (p.transit ? ttl : grace)) {
        p.open = false;
        changed = true;
      }
    }
    if (changed) this.onChange();
  }

  private isOwn(id: string): boolean {
    for (const v of this.own.values()) if (v === id) return true;
    return false;
  }

  /** Handles one record; `seen` is when (local clock) it was last true. */
  private onRecord(subject: string, data: Uint8Array, seen: number): void {
    // …p.<side>.<instance>
    const dot = subject.lastIndexOf('.');
    const id = subject.slice(dot + 1);
    const sideDot = subject.lastIndexOf('.', dot - 1);
    const side = subject.slice(sideDot + 1, dot);
    if ((side !== 'send' && side !== 'recv') || this.isOwn(id)) return;
    let rec: PresenceRecord;
    try {
      rec = JSON.parse(TD.decode(data)) as PresenceRecord;
    } catch {
      return; // not ours: ignore
    }
    const open = rec.s === 'open';
    const p = this.peers.get(id);
    if (p === undefined) {
      this.peers.set(id, { side, open, lastSeen: seen, transit: rec.transit === true, closed: !open });
      this.everSeen[side] = true;
      this.onChange();
      return;
    }
    if (!open) {
      p.closed = true;
      if (p.open) {
        p.open = false;
        this.onChange();
      }
      return;
    }
    // An `open` record: a heartbeat. A closed instance never reopens (ids are unique).
    if (seen > p.lastSeen) p.lastSeen = seen;
    if (!p.open && !p.closed) {
      // revived after a grace expiry (e.g. a long pause of that process)
      p.open = true;
      this.onChange();
    }
  }

  /** Reads the last stored record of every instance. */
  private snapshot(): Promise<void> {
    if (this.snapshotting !== null) return this.snapshotting;
    this.snapshotting = this.readStored().finally(() => {
      this.snapshotting = null;
    });
    return this.snapshotting;
  }

  private async readStored(): Promise<void> {
    const records = await this.link.lastPerSubject(this.names.presenceStream, this.names.presenceSubjects);
    if (this.stopped) return;
    const t = now();
    let ref = 0;
    for (const r of records) if (r.timestampMs > ref) ref = r.timestampMs;
    for (const r of records) this.onRecord(r.subject, r.data, t - Math.max(0, ref - r.timestampMs));
  }
}
