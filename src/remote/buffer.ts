/**
 * The receive buffer of a remote channel: messages pulled from the channel's
 * durable consumer and not yet handed to a receiver.
 *
 * Pulling is driven by demand. While a receive waits (a parked `recv`, a
 * select case, a `ready()` observer) or a receive happened in the last
 * `lingerMs`, the buffer keeps up to `prefetch` messages pulled ahead, with
 * pull requests that expire after a few seconds and are renewed while the
 * demand lasts. A message counts as delivered when it is handed to a
 * receiver (returned by `tryRecv`, or given to a parked waiter); only then
 * is it acknowledged, with a double acknowledgement (the server confirms it,
 * and an unconfirmed ack is sent again until it is; acks given in one turn
 * of the event loop are confirmed together, see `ack`). Messages that nobody
 * takes — they arrived for a select case that lost, or the receiver went
 * idle — are handed back (nak) once the demand has been gone for
 * `lingerMs`, and at once when the last local Receiver closes, so other
 * receivers get them. While buffered, a message's ack deadline is extended
 * (`+WPI`), so the server does not give it to someone else meanwhile.
 *
 * Exactly once: the stream stores each message once (its sender's
 * `Nats-Msg-Id` dedupes retries), so a message has one stream sequence. The
 * buffer remembers the sequences it delivered (at least the last 65,536,
 * see `DeliveredMemory`; read from the ack subject), so a message the server
 * delivers again — an ack lost in a crash of the server, say — is
 * acknowledged and dropped instead of being processed twice. It remembers
 * the message ids it delivered too (`RecentIds`): a restarted server forgets
 * the ids of messages it removed, so a sender's re-publish of one of those
 * is stored again under a new sequence.
 *
 * @internal
 */
import type { Msg, Subscription } from '@nats-io/transport-node';
import { lastNumber, type Link } from './link.js';
import { DeliveredMemory, RecentIds } from './delivered.js';
import type { ChannelNames } from './names.js';

export interface Delivery {
  readonly data: Uint8Array;
  readonly reply: string;
  /** Its stream sequence: the same message, delivered again, has the same one. */
  readonly id: number;
  /** Its sender's message id (`Nats-Msg-Id`), '' if none: the same message, stored again after a server restart, has the same one. */
  readonly msgId: string;
  /** Local time it arrived; last `+WPI`. */
  touched: number;
}

export interface BufferHost {
  /** Is anyone waiting for, or recently asking for, messages? */
  active(): boolean;
  /** Messages arrived. */
  arrived(): void;
  /** A pull ended with fewer messages than asked: the consumer may be drained. */
  pullEnded(): void;
}

const now = (): number => performance.now();
const TE = new TextEncoder();
const ACK = TE.encode('+ACK');
const NAK = TE.encode('-NAK');
const WPI = TE.encode('+WPI');
const REMEMBER = 65_536;

interface PullRequest {
  remaining: number;
  expiresAt: number;
}

export class ReceiveBuffer {
  private items: Delivery[] = [];
  private head = 0;
  private readonly requests = new Map<number, PullRequest>();
  private outstanding = 0;
  private reqSeq = 0;
  /** No open pull request has an id below this one. */
  private oldest = 1;
  private readonly delivered = new DeliveredMemory(REMEMBER);
  private readonly deliveredIds = new RecentIds(REMEMBER);
  /** Ack batches awaiting their confirmation: the last ack of each carries the reply subject. */
  private readonly pendingAcks = new Map<number, { replies: string[]; sentAt: number }>();
  private unconfirmed = 0;
  private ackSeq = 0;
  private ackBatch: string[] = [];
  private ackScheduled = false;
  private readonly sub: Subscription;
  private readonly inbox: string;
  private readonly ackRoute: string;
  private readonly nextSubject: string;
  /** The start of this consumer's ack subjects (the common form, without domain and account). */
  private readonly ackPrefix: string;
  private readonly sweeper: ReturnType<typeof setInterval>;
  private idleSince = 0;
  /**
   * Pull requests up to this one were open when the buffer was handed back:
   * what they still deliver is handed back too, on arrival. Otherwise a
   * message arriving after the hand-back could be delivered here before the
   * earlier ones the server now redelivers (it serves redeliveries first, so
   * handing everything back in order keeps the order).
   */
  private fence = 0;
  private closed = false;
  private acksSinceHint = 0;
  private hintTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly link: Link,
    private readonly names: ChannelNames,
    private readonly prefetch: number,
    private readonly host: BufferHost,
  ) {
    this.inbox = link.deliveryInbox();
    this.sub = link.nc.subscribe(`${this.inbox}.*`, { callback: (err, m) => { if (err === null) this.onMessage(m); } });
    this.ackRoute = link.addOwnRoute((_m, rest) => this.onAckConfirmed(rest));
    this.nextSubject = `$JS.API.CONSUMER.MSG.NEXT.${names.dataStream}.${names.consumer}`;
    this.ackPrefix = `$JS.ACK.${names.dataStream}.${names.consumer}.`;
    this.sweeper = setInterval(() => this.sweep(), 100);
    this.sweeper.unref();
  }

  get length(): number {
    return this.items.length - this.head;
  }

  /** Acks not yet sent, or sent and not yet confirmed (still pending on the server). */
  get unconfirmedAcks(): number {
    return this.unconfirmed + this.ackBatch.length;
  }

  /** Pull requests that may still deliver. */
  get pulling(): boolean {
    return this.outstanding > 0;
  }

  /** Pulls more if there is demand and room. */
  pull(): void {
    if (this.closed || !this.link.connected) return;
    const want = this.prefetch - this.length - this.outstanding;
    if (want <= 0) return;
    // batch the requests: ask when a quarter of the prefetch is free, or when nothing at all is coming
    if (want < Math.max(1, this.prefetch >> 2) && (this.outstanding > 0 || this.length > 0)) return;
    if (!this.host.active()) return;
    const id = ++this.reqSeq;
    const expiresMs = this.link.settings.pullExpiresMs;
    this.requests.set(id, { remaining: want, expiresAt: now() + expiresMs + 2000 });
    this.outstanding += want;
    const body = `{"batch":${want},"expires":${expiresMs * 1_000_000}}`;
    this.link.publishRaw(this.nextSubject, TE.encode(body), `${this.inbox}.${id}`);
  }

  /** Takes the oldest message and acknowledges it: it is delivered. */
  take(): Delivery | undefined {
    if (this.head >= this.items.length) return undefined;
    const d = this.items[this.head]!;
    this.items[this.head++] = undefined as unknown as Delivery;
    if (this.head > 256 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    this.ack(d);
    this.delivered.add(d.id);
    if (d.msgId !== '') this.deliveredIds.add(d.msgId);
    this.pull();
    return d;
  }

  /** Hands every buffered message back to the server (a nak), for other receivers. */
  releaseAll(): void {
    this.fence = this.reqSeq;
    for (let i = this.head; i < this.items.length; i++) {
      const d = this.items[i]!;
      this.link.publishRaw(d.reply, NAK);
    }
    this.items = [];
    this.head = 0;
  }

  /** The connection is back: pending pulls were lost; ask again; re-send unconfirmed acks. */
  resume(): void {
    this.requests.clear();
    this.outstanding = 0;
    for (const [id, a] of this.pendingAcks) {
      a.sentAt = now();
      this.sendAcks(a.replies, id);
    }
    this.pull();
  }

  close(): void {
    if (this.closed) return;
    this.flushAcks();
    this.releaseAll();
    this.closed = true;
    clearInterval(this.sweeper);
    if (this.hintTimer !== null) clearTimeout(this.hintTimer);
    this.sub.unsubscribe();
    // unconfirmed acks: one last try, then forget
    this.link.removeRoute(this.ackRoute);
  }

  private onMessage(m: Msg): void {
    if (this.closed) {
      if (m.reply?.startsWith('$JS.ACK.') === true) this.link.publishRaw(m.reply, NAK);
      return;
    }
    const reply = m.reply;
    if (reply === undefined || reply === '' || !reply.startsWith('$JS.ACK.')) {
      this.onStatus(m);
      return;
    }
    this.consumeRequest(1);
    if (this.fence > 0 && lastNumber(m) <= this.fence) {
      this.link.publishRaw(reply, NAK); // from a request opened before a hand-back
      return;
    }
    const id = streamSeq(reply, this.ackPrefix);
    const msgId = m.headers?.get('Nats-Msg-Id') ?? '';
    if (this.delivered.has(id) || (msgId !== '' && this.deliveredIds.has(msgId))) {
      // Delivered before: an ack lost in a crash of the server (same sequence), or a
      // re-publish the restarted server stored again (same message id). Acknowledge
      // it, never hand it to the user twice.
      this.link.publishRaw(reply, ACK);
      this.pull();
      return;
    }
    this.items.push({ data: m.data, reply, id, msgId, touched: now() });
    this.host.arrived();
  }

  private onStatus(m: Msg): void {
    const code = m.headers?.code ?? 0;
    if (code === 100) return; // idle heartbeat
    const id = lastNumber(m);
    const req = this.requests.get(id);
    if (req !== undefined) {
      this.outstanding -= req.remaining;
      this.requests.delete(id);
    }
    // 404 no messages, 408 request expired, 409 (max waiting, leadership change, consumer deleted…)
    this.host.pullEnded();
    if (code === 409) {
      setTimeout(() => this.pull(), 100).unref();
      return;
    }
    this.pull();
  }

  /** One delivery arrived: it counts against the oldest open request. */
  private consumeRequest(n: number): void {
    // ids only grow, so the oldest open one is found by walking up from the last oldest (no Map iterator per message)
    while (n > 0 && this.oldest <= this.reqSeq) {
      const r = this.requests.get(this.oldest);
      if (r === undefined) {
        this.oldest++;
        continue;
      }
      const k = Math.min(n, r.remaining);
      r.remaining -= k;
      this.outstanding -= k;
      n -= k;
      if (r.remaining === 0) this.requests.delete(this.oldest++);
    }
  }

  /*
   * Double acks, confirmed per batch. The acks given in one event-loop turn
   * go out together and only the last asks for a confirmation: the server
   * processes one connection's acks to a consumer in order, so its
   * confirmation of the last one covers the batch. An unconfirmed batch is
   * sent again (acks are idempotent) until it is confirmed.
   */
  private ack(d: Delivery): void {
    this.ackBatch.push(d.reply);
    if (!this.ackScheduled) {
      this.ackScheduled = true;
      setImmediate(this.flushAcks);
    }
    this.acksSinceHint++;
    if (this.hintTimer === null) {
      this.hintTimer = setTimeout(() => this.sendHint(), 5);
      this.hintTimer.unref();
    }
  }

  /** Tells waiting senders that there is room again (core NATS, best effort). */
  private sendHint(): void {
    this.hintTimer = null;
    if (this.acksSinceHint === 0) return;
    this.acksSinceHint = 0;
    this.link.publishQuietly(this.names.roomSubject, new Uint8Array(0));
  }

  private readonly flushAcks = (): void => {
    this.ackScheduled = false;
    const replies = this.ackBatch;
    if (replies.length === 0) return;
    this.ackBatch = [];
    const id = ++this.ackSeq;
    this.pendingAcks.set(id, { replies, sentAt: now() });
    this.unconfirmed += replies.length;
    this.sendAcks(replies, id);
  };

  private sendAcks(replies: string[], id: number): void {
    const last = replies.length - 1;
    for (let i = 0; i < last; i++) this.link.publishRaw(replies[i]!, ACK);
    this.link.publishRaw(replies[last]!, ACK, `${this.ackRoute}.${id}`);
  }

  private onAckConfirmed(id: number): void {
    const batch = this.pendingAcks.get(id);
    if (batch === undefined) return;
    this.pendingAcks.delete(id);
    this.unconfirmed -= batch.replies.length;
    if (this.unconfirmed === 0) this.host.pullEnded();
  }

  private sweep(): void {
    if (this.closed) return;
    const t = now();
    const s = this.link.settings;
    // expired pull requests that never answered (lost in a disconnection)
    for (const [id, r] of this.requests) {
      if (r.expiresAt <= t) {
        this.outstanding -= r.remaining;
        this.requests.delete(id);
      }
    }
    if (!this.link.connected) return;
    // idle: hand the buffer back after lingerMs
    if (this.host.active()) {
      this.idleSince = 0;
      this.pull();
    } else if (this.length > 0) {
      if (this.idleSince === 0) this.idleSince = t;
      else if (t - this.idleSince >= s.lingerMs) this.releaseAll();
    }
    // keep buffered messages ours while they wait
    const wpiAfter = s.ackWaitMs / 3;
    for (let i = this.head; i < this.items.length; i++) {
      const d = this.items[i]!;
      if (t - d.touched >= wpiAfter) {
        d.touched = t;
        this.link.publishRaw(d.reply, WPI);
      }
    }
    // unconfirmed acks: send again
    for (const [id, a] of this.pendingAcks) {
      if (t - a.sentAt >= s.ackRetryMs) {
        a.sentAt = t;
        this.sendAcks(a.replies, id);
      }
    }
  }
}

/**
 * The stream sequence of a delivery, from its ack subject:
 * `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<dseq>.<ts>.<pending>`, or
 * the newer form with domain and account hash in front and a token after.
 * With `prefix` (`$JS.ACK.<stream>.<consumer>.`), the common form is read
 * from the front.
 */
export function streamSeq(reply: string, prefix?: string): number {
  if (prefix !== undefined && reply.startsWith(prefix)) {
    // `<delivered>.<sseq>.…` follows: skip one token, read the next (no slicing, no token count)
    let v = 0;
    for (let i = reply.indexOf('.', prefix.length) + 1; i < reply.length; i++) {
      const c = reply.charCodeAt(i);
      if (c === 0x2e) return v;
      if (c < 0x30 || c > 0x39) return NaN; // not an ack subject of the server's
      v = v * 10 + (c - 0x30);
    }
    return v;
  }
  // count tokens from the end: v1 has 9 tokens, v2 has 12 (sseq 4th from the end in v1, 5th in v2)
  let dots = 0;
  for (let i = 0; i < reply.length; i++) if (reply.charCodeAt(i) === 0x2e) dots++;
  const fromEnd = dots + 1 === 9 ? 3 : 4;
  let end = reply.length;
  for (let k = 0; k < fromEnd; k++) end = reply.lastIndexOf('.', end - 1);
  const start = reply.lastIndexOf('.', end - 1) + 1;
  return Number(reply.slice(start, end));
}
