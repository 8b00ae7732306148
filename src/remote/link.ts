/**
 * A link: one connection to a NATS server (or cluster) with JetStream, and
 * the named channels opened on it.
 *
 * @module
 */
import { hostname } from 'node:os';
import {
  connect as natsConnect,
  createInbox,
  credsAuthenticator,
  nkeyAuthenticator,
  nuid,
  type Authenticator,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  type NodeConnectionOptions,
  type Subscription,
} from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { Receiver } from '../channel/receiver.js';
import { Sender } from '../channel/sender.js';
import { StreamCore, msUntil } from './core.js';
import { RemoteError } from './errors.js';
import { ChannelNames, checkName } from './names.js';
import { deleteChannel, ensureChannel, type ChannelSpec } from './stream.js';
import { HandleTransport } from './transport.js';
import { fullPublish, protocolOf, writePublishes, type PublishQueue } from './wire.js';

/**
 * TLS options, passed to the NATS client as they are (Node's `tls.connect`
 * options: `ca`, `cert`, `key`, `rejectUnauthorized`, … or file paths
 * `caFile`, `certFile`, `keyFile`).
 *
 * @example
 * ```ts
 * import type { TlsOptions } from 'weft/nats';
 * const tls: TlsOptions = { caFile: '/etc/nats/ca.pem' };
 * console.log(tls);
 * ```
 */
export type TlsOptions = NonNullable<NodeConnectionOptions['tls']>;

/**
 * Options of {@link connect}: where the server is, how to authenticate, and
 * weft's own limits.
 *
 * @example
 * ```ts
 * import { connect, type ConnectOptions } from 'weft/nats';
 * const options: ConnectOptions = {
 *   servers: ['nats://10.0.0.1:4222', 'nats://10.0.0.2:4222'],
 *   user: 'app', pass: process.env.NATS_PASS,
 *   sendsInFlight: 512, prefetch: 64, graceMs: 10_000,
 * };
 * const link = await connect(options);
 * await link.close();
 * ```
 */
export interface ConnectOptions {
  /** Server URLs (`nats://host:port`, `tls://…`); default `nats://127.0.0.1:4222`. */
  servers?: string | string[];
  /** A name for this connection, shown by the server's monitoring. */
  name?: string;
  /** User and password authentication. */
  user?: string;
  pass?: string;
  /** Token authentication. */
  token?: string;
  /** NKey authentication: the seed (`SU…`). */
  nkeySeed?: string;
  /** JWT authentication: the contents of a `.creds` file. */
  credentials?: string;
  /** Any other authenticator of the NATS client (`usernamePasswordAuthenticator`, `jwtAuthenticator`, …). */
  authenticator?: Authenticator | Authenticator[];
  /** TLS options (see {@link TlsOptions}); `null` disables TLS negotiation. */
  tls?: TlsOptions | null;
  /** Subject and stream prefix of weft's channels (default `weft`); links with different prefixes never see each other's channels. */
  prefix?: string;
  /** Largest encoded message, in bytes (default and maximum: the server's `max_payload` less 1 KiB for headers). */
  maxMessageBytes?: number;
  /** Messages a channel's Senders may have accepted but not yet stored, per channel (default 1024). */
  sendsInFlight?: number;
  /** Bytes of such messages, per channel (default 8 MiB). */
  sendBytesInFlight?: number;
  /** Messages a channel's Receivers pull ahead, per channel and process (default 128). */
  prefetch?: number;
  /** A process whose Senders (or Receivers) stop showing signs of life counts as gone after this long (default 5000 ms). */
  graceMs?: number;
  /** How long the server waits for an acknowledgement before giving a message to another receiver (default 30000 ms). */
  ackWaitMs?: number;
  /** How long pulled messages nobody takes stay in this process before they are handed back (default 1000 ms). */
  lingerMs?: number;
  /** Storage of new channels' streams (default `'file'`). */
  storage?: 'file' | 'memory';
  /** Replicas of new channels' streams, in a cluster (default 1). */
  replicas?: number;
  /** Time limit of management requests (default 5000 ms). */
  requestTimeoutMs?: number;
  /** Wait between reconnection attempts (default 250 ms). The link reconnects forever until closed. */
  reconnectWaitMs?: number;
  /** Other options of the NATS client, passed through. */
  nats?: Partial<NodeConnectionOptions>;
}

/**
 * Options of the channel openers ({@link Link.bounded} and the others).
 *
 * @example
 * ```ts
 * import { connect, type ChannelOptions } from 'weft/nats';
 * const link = await connect({ servers: 'nats://127.0.0.1:4333' });
 * const options: ChannelOptions = { prefetch: 16, ackWaitMs: 60_000 };
 * const [tx, rx] = await link.bounded<string>('jobs', 100, options);
 * tx.close(); rx.close(); await link.close();
 * ```
 */
export interface ChannelOptions {
  /**
   * For {@link Link.sender} and {@link Link.receiver}: create the channel
   * with this capacity (a whole number >= 1, or `'unbounded'`) if it does
   * not exist yet; if it exists, it must have this capacity. Without it,
   * the channel must exist.
   */
  capacity?: number | 'unbounded';
  /** Messages this process's Receivers pull ahead (default: the link's `prefetch`). Only used by the first opener in this process. */
  prefetch?: number;
  /** Ack wait of the channel's consumer, when this call creates it. */
  ackWaitMs?: number;
  /** Storage of the channel's streams, when this call creates them. */
  storage?: 'file' | 'memory';
  /** Replicas of the channel's streams, when this call creates them. */
  replicas?: number;
}

/** @internal Resolved settings of a link. */
export interface Settings {
  maxMessageBytes: number;
  sendsInFlight: number;
  sendBytesInFlight: number;
  prefetch: number;
  graceMs: number;
  ackWaitMs: number;
  ackRetryMs: number;
  pubRetryMs: number;
  pullExpiresMs: number;
  lingerMs: number;
  transitTtlMs: number;
  presenceTtlMs: number;
  storage: 'file' | 'memory';
  replicas: number;
  requestTimeoutMs: number;
}

const TD = new TextDecoder();

const HDR_HEAD = new TextEncoder().encode('NATS/1.0\r\nNats-Msg-Id: ');
const HDR_TAIL = new TextEncoder().encode('\r\n\r\n');

/**
 * The header block `NATS/1.0␍␊Nats-Msg-Id: <id>␍␊␍␊`, built directly: the
 * client only calls `encode()` on the headers of a publish, and a full
 * MsgHdrs (a Map, validation, encoding) per message is a measurable share
 * of a send. Ids are ASCII (nuid and base-36 counters).
 */
class EncodedHeaders {
  constructor(private readonly bytes: Uint8Array) {}
  encode(): Uint8Array {
    return this.bytes;
  }
}

function msgIdHeader(id: string): MsgHdrs {
  const bytes = new Uint8Array(HDR_HEAD.length + id.length + HDR_TAIL.length);
  bytes.set(HDR_HEAD, 0);
  let o = HDR_HEAD.length;
  for (let i = 0; i < id.length; i++) bytes[o++] = id.charCodeAt(i);
  bytes.set(HDR_TAIL, o);
  return new EncodedHeaders(bytes) as unknown as MsgHdrs;
}

/**
 * The number that ends a message's subject. The client keeps the subject as
 * bytes and decodes it to a string on first use: read the bytes when they
 * are there (one reply per message sent makes that decoding a measurable
 * cost), else the string.
 *
 * @internal
 */
export function lastNumber(m: Msg): number {
  const raw = (m as unknown as { _msg?: { subject?: unknown } })._msg?.subject;
  if (raw instanceof Uint8Array) {
    let v = 0;
    let mul = 1;
    let i = raw.length - 1;
    for (; i >= 0; i--) {
      const c = raw[i]!;
      if (c === 0x2e) break;
      if (c < 0x30 || c > 0x39) return NaN;
      v += (c - 0x30) * mul;
      mul *= 10;
    }
    return i === raw.length - 1 || i < 0 ? NaN : v;
  }
  const subject = m.subject;
  const token = subject.slice(subject.lastIndexOf('.') + 1);
  return token === '' ? NaN : Number(token);
}

/** The `capacity` option as the openers take it: a number, null (unbounded) or undefined (existing). */
function capacityOf(what: string, options: ChannelOptions | undefined): number | null | undefined {
  const c = options?.capacity;
  if (c === undefined) return undefined;
  if (c === 'unbounded') return null;
  if (typeof c !== 'number' || !Number.isSafeInteger(c) || c < 1) {
    throw new RangeError(`${what}: options.capacity must be a whole number >= 1 or 'unbounded', got ${String(c)}`);
  }
  return c;
}

function positive(what: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) throw new RangeError(`connect: ${what} must be a number > 0, got ${String(v)}`);
  return v;
}

/**
 * Connects to a NATS server with JetStream and returns a {@link Link}, on
 * which named channels are opened. Rejects with {@link RemoteError} `kind`
 * `'auth'` when the server refuses the credentials, `'connect'` when no
 * server answers, `'jetstream'` when the server has no JetStream.
 *
 * @example
 * ```ts
 * import { connect } from 'weft/nats';
 * const link = await connect({ servers: 'nats://127.0.0.1:4333', token: 's3cret' });
 * const [tx, rx] = await link.bounded<{ id: number }>('jobs', 100);
 * await tx.send({ id: 1 });
 * console.log(await rx.recv()); // { id: 1 }
 * tx.close(); rx.close();
 * await link.close();
 * ```
 */
export async function connect(options: ConnectOptions = {}): Promise<Link> {
  const auth: Authenticator[] = [];
  if (options.nkeySeed !== undefined) auth.push(nkeyAuthenticator(new TextEncoder().encode(options.nkeySeed)));
  if (options.credentials !== undefined) auth.push(credsAuthenticator(new TextEncoder().encode(options.credentials)));
  if (options.authenticator !== undefined) auth.push(...(Array.isArray(options.authenticator) ? options.authenticator : [options.authenticator]));
  const natsOptions: NodeConnectionOptions = {
    servers: options.servers ?? 'nats://127.0.0.1:4222',
    name: options.name ?? `weft ${hostname()} ${process.pid}`,
    maxReconnectAttempts: -1,
    reconnectTimeWait: options.reconnectWaitMs ?? 250,
    reconnectJitter: 50,
    timeout: options.requestTimeoutMs ?? 5000,
    ...options.nats,
  };
  if (options.user !== undefined) natsOptions.user = options.user;
  if (options.pass !== undefined) natsOptions.pass = options.pass;
  if (options.token !== undefined) natsOptions.token = options.token;
  if (options.tls !== undefined) natsOptions.tls = options.tls;
  if (auth.length > 0) natsOptions.authenticator = auth;
  const prefix = options.prefix ?? 'weft';
  checkName('connect: prefix', prefix);

  let nc: NatsConnection;
  try {
    nc = await natsConnect(natsOptions);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const name = e instanceof Error ? e.name : '';
    const isAuth = /auth/i.test(name) || /authori[sz]ation|authentication|credentials/i.test(msg);
    throw new RemoteError(
      isAuth ? 'auth' : 'connect',
      isAuth
        ? `the NATS server refused this link's credentials (${msg}); pass user/pass, token, nkeySeed or credentials as the server requires`
        : `could not connect to NATS at ${String(natsOptions.servers)} (${msg})`,
      { cause: e },
    );
  }
  let jsm: JetStreamManager;
  try {
    jsm = await jetstreamManager(nc, { timeout: options.requestTimeoutMs ?? 5000 });
  } catch (e) {
    await nc.close().catch(() => undefined);
    const msg = e instanceof Error ? e.message : String(e);
    throw new RemoteError('jetstream', `the NATS server has no JetStream for this account (${msg}); start it with -js`, { cause: e });
  }
  const serverMax = nc.info?.max_payload ?? 1024 * 1024;
  const maxMessageBytes = Math.min(positive('maxMessageBytes', options.maxMessageBytes, Infinity), serverMax - 1024);
  const graceMs = positive('graceMs', options.graceMs, 5000);
  const ackWaitMs = positive('ackWaitMs', options.ackWaitMs, 30_000);
  const settings: Settings = {
    maxMessageBytes,
    sendsInFlight: Math.floor(positive('sendsInFlight', options.sendsInFlight, 1024)),
    sendBytesInFlight: positive('sendBytesInFlight', options.sendBytesInFlight, 8 * 1024 * 1024),
    prefetch: Math.floor(positive('prefetch', options.prefetch, 128)),
    graceMs,
    ackWaitMs,
    ackRetryMs: 1000,
    pubRetryMs: 2000,
    pullExpiresMs: 5000,
    lingerMs: positive('lingerMs', options.lingerMs, 1000),
    transitTtlMs: Math.max(10 * 60_000, ackWaitMs * 4),
    presenceTtlMs: 7 * 24 * 3600_000,
    storage: options.storage ?? 'file',
    replicas: Math.floor(positive('replicas', options.replicas, 1)),
    requestTimeoutMs: positive('requestTimeoutMs', options.requestTimeoutMs, 5000),
  };
  return new Link(nc, jsm, jetstream(nc), settings, prefix);
}

/**
 * A connection to NATS on which named remote channels are opened. Channels
 * opened with the same name — in this process, in another process, on
 * another machine — are the same channel. Handles work exactly like local
 * ones: `send`, `recv`, `trySend`, `tryRecv`, `select`, `for await`, the
 * same errors, the same disconnection.
 *
 * @example
 * ```ts
 * import { connect } from 'weft/nats';
 * import { select, after } from 'weft';
 * const link = await connect({ servers: 'nats://127.0.0.1:4333' });
 * const jobs = await link.receiver<string>('jobs');   // created elsewhere
 * const r = await select({ job: jobs, idle: after(1000) });
 * if (r.case === 'job' && r.ok) console.log(r.value);
 * jobs.close();
 * await link.close();
 * ```
 */
export class Link {
  /** @internal */ readonly nc: NatsConnection;
  /** @internal */ readonly jsm: JetStreamManager;
  /** @internal */ readonly js: JetStreamClient;
  /** @internal */ readonly settings: Settings;
  /** @internal */ readonly hooks: HandleTransport;
  /** This link's unique id. */
  readonly id: string;
  /** The subject/stream prefix of its channels. */
  readonly prefix: string;
  /** @internal */ readonly host: string = hostname();
  /** @internal */ connected = true;
  /** @internal */ readonly inbox: string;
  private readonly cores = new Map<string, StreamCore<unknown>>();
  private readonly routes = new Map<string, (m: Msg, rest: string) => void>();
  private routeSeq = 0;
  private idSeq = 0;
  private deliverySeq = 0;
  private readonly mux: Subscription;
  private closing: Promise<void> | null = null;
  private isClosed = false;

  /** @internal Use {@link connect}. */
  constructor(nc: NatsConnection, jsm: JetStreamManager, js: JetStreamClient, settings: Settings, prefix: string) {
    this.nc = nc;
    this.proto = protocolOf(nc);
    this.jsm = jsm;
    this.js = js;
    this.settings = settings;
    this.prefix = prefix;
    this.id = nuid.next();
    this.inbox = createInbox();
    this.mux = nc.subscribe(`${this.inbox}.>`, {
      callback: (err, m) => {
        if (err !== null) return;
        const rest = m.subject.slice(this.inbox.length + 1);
        const dot = rest.indexOf('.');
        const handler = this.routes.get(dot < 0 ? rest : rest.slice(0, dot));
        if (handler !== undefined) handler(m, dot < 0 ? '' : rest.slice(dot + 1));
      },
    });
    this.hooks = new HandleTransport(this);
    void this.watchStatus();
  }

  /**
   * Opens (creating it if needed) the named channel with room for
   * `capacity` messages, and returns a Sender and a Receiver on it. Close
   * the one you do not need: an open Receiver counts as a receiver of the
   * channel for every Sender, everywhere.
   *
   * `capacity` is enforced by the stream: a full channel makes `send` wait
   * and `trySend` fail with `'full'`. Rejects with {@link RemoteError}
   * `'config'` when the channel exists with another capacity.
   *
   * @example
   * ```ts
   * import { connect } from 'weft/nats';
   * const link = await connect({ servers: 'nats://127.0.0.1:4333' });
   * const [tx, rx] = await link.bounded<number>('numbers', 10);
   * await tx.send(1);
   * console.log(await rx.recv()); // 1
   * tx.close(); rx.close(); await link.close();
   * ```
   */
  async bounded<T>(name: string, capacity: number, options?: ChannelOptions): Promise<[Sender<T>, Receiver<T>]> {
    if (typeof capacity !== 'number' || !Number.isSafeInteger(capacity) || capacity < 1) {
      throw new RangeError(
        `link.bounded(name, capacity): capacity must be a whole number >= 1, got ${String(capacity)}. ` +
          'Remote rendezvous channels are not offered: for a reply, put a local Sender in the message (see call()).',
      );
    }
    const core = await this.open<T>('link.bounded', name, capacity, options);
    return [this.handle(core, 'send', this.bounded) as Sender<T>, this.handle(core, 'recv', this.bounded) as Receiver<T>];
  }

  /**
   * Opens (creating it if needed) the named channel without a capacity
   * limit. Messages are bounded only by the server's storage limits.
   *
   * @example
   * ```ts
   * import { connect } from 'weft/nats';
   * const link = await connect({ servers: 'nats://127.0.0.1:4333' });
   * const [tx, rx] = await link.unbounded<string>('log');
   * tx.trySend('never waits');
   * tx.close(); rx.close(); await link.close();
   * ```
   */
  async unbounded<T>(name: string, options?: ChannelOptions): Promise<[Sender<T>, Receiver<T>]> {
    const core = await this.open<T>('link.unbounded', name, null, options);
    return [this.handle(core, 'send', this.unbounded) as Sender<T>, this.handle(core, 'recv', this.unbounded) as Receiver<T>];
  }

  /**
   * A Sender on a named channel: an existing one (created by `bounded`,
   * `unbounded` or with `options.capacity`, here or in another process), or
   * a new one when `options.capacity` is given. Rejects with
   * {@link RemoteError} `'config'` if it does not exist and no capacity is
   * given, or if it exists with another capacity.
   *
   * @example
   * ```ts
   * import { connect } from 'weft/nats';
   * const link = await connect({ servers: 'nats://127.0.0.1:4333' });
   * const jobs = await link.sender<string>('jobs', { capacity: 100 });
   * await jobs.send('work');
   * jobs.close(); await link.close();
   * ```
   */
  async sender<T>(name: string, options?: ChannelOptions): Promise<Sender<T>> {
    const core = await this.open<T>('link.sender', name, capacityOf('link.sender', options), options);
    return this.handle(core, 'send', this.sender) as Sender<T>;
  }

  /**
   * A Receiver on a named channel, existing or (with `options.capacity`)
   * created. Rejects like {@link Link.sender}.
   *
   * @example
   * ```ts
   * import { connect } from 'weft/nats';
   * const link = await connect({ servers: 'nats://127.0.0.1:4333' });
   * const jobs = await link.receiver<string>('jobs');
   * for await (const job of jobs) console.log(job); // until every Sender is gone
   * jobs.close(); await link.close();
   * ```
   */
  async receiver<T>(name: string, options?: ChannelOptions): Promise<Receiver<T>> {
    const core = await this.open<T>('link.receiver', name, capacityOf('link.receiver', options), options);
    return this.handle(core, 'recv', this.receiver) as Receiver<T>;
  }

  /**
   * Deletes a named channel's streams (its messages and its presence
   * records) on the server. Handles open on it stop working. Resolves true
   * if it existed.
   *
   * @example
   * ```ts
   * import { connect } from 'weft/nats';
   * const link = await connect({ servers: 'nats://127.0.0.1:4333' });
   * await link.delete('jobs');
   * await link.close();
   * ```
   */
  async delete(name: string): Promise<boolean> {
    checkName('link.delete', name);
    const names = new ChannelNames(this.prefix, name);
    const core = this.cores.get(name);
    if (core !== undefined) {
      this.cores.delete(name);
      core.kill();
    }
    return deleteChannel(this, names);
  }

  /**
   * Resolves once every message sent on this link's channels so far is
   * stored by the server. (A `send` completes when its message is accepted
   * into the channel's send window; see docs/REMOTE.md.)
   *
   * @example
   * ```ts
   * import { connect } from 'weft/nats';
   * const link = await connect({ servers: 'nats://127.0.0.1:4333' });
   * const tx = await link.sender<number>('numbers');
   * for (let i = 0; i < 1000; i++) await tx.send(i);
   * await link.flush(); // all 1000 are stored
   * tx.close(); await link.close();
   * ```
   */
  async flush(): Promise<void> {
    await Promise.all([...this.cores.values()].map((c) => c.flush()));
  }

  /**
   * Closes the link: waits until every message sent on it (closed Senders
   * included) is stored, hands back messages pulled but not delivered,
   * writes close markers (so other processes see this one's Senders and
   * Receivers gone at once), and closes the connection. Operations pending
   * on its handles then fail as disconnected.
   *
   * A send completes when its message is accepted into the send window, so
   * closing must wait for the window to drain; on a full channel that lasts
   * until receivers make room, and while the server is unreachable, until
   * it is back. `timeoutMs` bounds the whole close: past it, the link closes
   * anyway and, if messages were not stored, `close()` rejects with a
   * {@link RemoteError} of kind `'flush'` that says how many. Close markers
   * not written by then are given up (other processes notice the handles
   * gone after their liveness grace period).
   *
   * @example
   * ```ts
   * import { connect } from 'weft/nats';
   * const link = await connect({ servers: 'nats://127.0.0.1:4333' });
   * await link.close({ timeoutMs: 10_000 });
   * ```
   */
  close(options: { timeoutMs?: number } = {}): Promise<void> {
    if (this.closing !== null) return this.closing;
    const ms = options.timeoutMs ?? Infinity;
    if (!(ms >= 0)) throw new RangeError(`close: timeoutMs must be a number >= 0, got ${String(options.timeoutMs)}`);
    this.closing = (async () => {
      const deadline = performance.now() + ms;
      const lost = await Promise.all([...this.cores.values()].map((c) => c.shutdown(deadline).catch(() => 0)));
      this.hooks.close();
      this.isClosed = true;
      this.cores.clear();
      // A drain cannot finish while the server is unreachable: past the deadline, just close.
      await this.untilSettled(this.nc.drain(), msUntil(deadline)).catch(() => undefined);
      if (!this.nc.isClosed()) await this.nc.close().catch(() => undefined);
      const n = lost.reduce((a, b) => a + b, 0);
      if (n > 0) throw new RemoteError('flush', `close: ${n} sent message(s) were not stored within ${ms} ms and are lost (the channel stayed full, or the server was unreachable); give a longer timeoutMs, or make sure receivers drain the channel before closing`);
    })();
    return this.closing;
  }

  /** True once `close()` finished, or the connection closed for good. */
  get closed(): boolean {
    return this.isClosed || this.nc.isClosed();
  }

  /** Same as {@link Link.close}, for `await using link = await connect(…)`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // ---- internals shared by the remote layer

  /** @internal Opens (or finds) the core of a named channel and waits until it is ready. */
  async open<T>(what: string, name: string, capacity: number | null | undefined, options: ChannelOptions | undefined): Promise<StreamCore<T>> {
    checkName(what, name);
    if (this.closing !== null) throw new RemoteError('closed', `${what}: this link is closed`);
    const core = this.core<T>(name, capacity, options);
    await core.ready;
    if (capacity !== undefined && (capacity ?? undefined) !== core.capacity) {
      const has = core.capacity === undefined ? 'unbounded' : `capacity ${core.capacity}`;
      throw new RemoteError('config', `${what}: remote channel "${name}" is open here as ${has}`);
    }
    return core;
  }

  /** @internal The core of a named channel, created on first use (setup runs in the background). */
  core<T>(name: string, capacity: number | null | undefined, options?: ChannelOptions): StreamCore<T> {
    let core = this.cores.get(name) as StreamCore<T> | undefined;
    if (core !== undefined) return core;
    const names = new ChannelNames(this.prefix, name);
    const spec: ChannelSpec = {
      capacity,
      ackWaitMs: options?.ackWaitMs ?? this.settings.ackWaitMs,
      storage: options?.storage ?? this.settings.storage,
      replicas: options?.replicas ?? this.settings.replicas,
    };
    core = new StreamCore<T>(this, names, { prefetch: Math.max(1, Math.floor(options?.prefetch ?? this.settings.prefetch)) }, () =>
      ensureChannel(this, names, spec),
    );
    this.cores.set(name, core as StreamCore<unknown>);
    core.ready.catch(() => {
      if (this.cores.get(name) === (core as StreamCore<unknown>)) this.cores.delete(name);
    });
    return core;
  }

  /** @internal A new handle of `side` on `core`. */
  handle<T>(core: StreamCore<T>, side: 'send' | 'recv', creator: Function | undefined): Sender<T> | Receiver<T> {
    core.acquire(side);
    return side === 'send' ? new Sender<T>(core, creator) : new Receiver<T>(core, creator);
  }

  /** @internal Drops a core whose handles are all closed. */
  forgetIfUnused(core: StreamCore<unknown>): void {
    if (core.inUse) return;
    if (this.cores.get(core.names.name) === core) this.cores.delete(core.names.name);
    core.kill();
  }

  /** @internal A unique id (for message ids and presence instances). */
  newId(): string {
    return `${this.id}${(++this.idSeq).toString(36)}`;
  }

  /** @internal Routes replies `${inbox}.${route}.…` to `handler`; returns the route's subject prefix. */
  addRoute(handler: (m: Msg, rest: string) => void): string {
    const key = `r${(++this.routeSeq).toString(36)}`;
    this.routes.set(key, handler);
    return `${this.inbox}.${key}`;
  }

  /** @internal */
  removeRoute(prefix: string): void {
    const own = this.ownRoutes.get(prefix);
    if (own !== undefined) {
      this.ownRoutes.delete(prefix);
      own.unsubscribe();
      return;
    }
    this.routes.delete(prefix.slice(this.inbox.length + 1));
  }

  /**
   * @internal Like {@link Link.addRoute}, with a subscription of its own
   * (outside the shared reply wildcard), for high-volume replies: the client
   * dispatches them by subscription. The last token of the subject is a
   * number, given as `n` (NaN if it is not one).
   */
  addOwnRoute(handler: (m: Msg, n: number) => void): string {
    const prefix = `${this.inbox}R${(++this.routeSeq).toString(36)}`;
    const sub = this.nc.subscribe(`${prefix}.*`, {
      callback: (err, m) => {
        if (err !== null) return;
        handler(m, lastNumber(m));
      },
    });
    this.ownRoutes.set(prefix, sub);
    return prefix;
  }
  private readonly ownRoutes = new Map<string, Subscription>();

  /** @internal A fresh subject prefix for a receive buffer's deliveries (outside the reply wildcard). */
  deliveryInbox(): string {
    return `${this.inbox}D${(++this.deliverySeq).toString(36)}`;
  }

  /**
   * @internal Publishes a stream message with the message id `<id>.<seq>`;
   * the stream's ack goes to `<reply>.<seq>`.
   */
  publishWithId(subject: string, data: Uint8Array, id: string, reply: string, seq: number): void {
    this.corked.push(subject, data, reply, id, seq);
    this.uncorkLater();
  }

  /** @internal A plain publish, with an optional reply subject. */
  publishRaw(subject: string, data: Uint8Array, reply?: string): void {
    this.corked.push(subject, data, reply, undefined, undefined);
    this.uncorkLater();
  }

  /*
   * Publishes are corked for one event-loop turn. The NATS client writes its
   * buffer to the socket in a microtask after the first publish, and a
   * producer loop that awaits every send yields to microtasks each time: one
   * write() per message. Handing the client every publish of this turn at
   * once (order kept) makes a burst of sends, acks or pulls one write.
   */
  private corked: PublishQueue = [];
  private uncorkScheduled = false;

  private uncorkLater(): void {
    if (this.uncorkScheduled) return;
    this.uncorkScheduled = true;
    setImmediate(this.uncork);
  }

  private readonly uncork = (): void => {
    this.uncorkScheduled = false;
    const q = this.corked;
    if (q.length === 0) return;
    this.corked = [];
    if (this.proto !== undefined) {
      writePublishes(this.nc, this.proto, q, this.publishOne);
      return;
    }
    for (let i = 0; i < q.length; i += 5) {
      const [reply, id] = fullPublish(q[i + 2] as string | undefined, q[i + 3] as string | undefined, q[i + 4] as number | undefined);
      this.publishOne(q[i] as string, q[i + 1] as Uint8Array, reply, id);
    }
  };

  /** The client's protocol handler, written to directly (undefined: publish one by one). */
  private readonly proto: ReturnType<typeof protocolOf>;

  private readonly publishOne = (subject: string, data: Uint8Array, reply: string | undefined, id: string | undefined): void => {
    try {
      if (id !== undefined) {
        this.nc.publish(subject, data, { headers: msgIdHeader(id), reply: reply! });
      } else {
        this.nc.publish(subject, data, reply === undefined ? undefined : { reply });
      }
    } catch {
      // closed or disconnected: windows republish, buffers re-ack and re-pull
    }
  };

  /** @internal Best-effort publish. */
  publishQuietly(subject: string, data: Uint8Array): void {
    if (!this.connected) return;
    this.publishRaw(subject, data);
  }

  /** @internal Publishes to a stream and waits for the ack, retrying until stored or the link closes. */
  async publishDurably(subject: string, data: Uint8Array): Promise<void> {
    let wait = 50;
    for (;;) {
      if (this.nc.isClosed()) throw new RemoteError('closed', 'the link is closed');
      try {
        await this.js.publish(subject, data, { timeout: this.settings.requestTimeoutMs });
        return;
      } catch {
        await new Promise((r) => setTimeout(r, wait).unref());
        wait = Math.min(1000, wait * 2);
      }
    }
  }

  /** @internal A JetStream API request, parsed. */
  async api<R>(subject: string, body = ''): Promise<R> {
    // Corked publishes go first: a credit refresh counts the messages sent before it.
    this.uncork();
    const m = await this.nc.request(subject, body, { timeout: this.settings.requestTimeoutMs });
    const r = JSON.parse(TD.decode(m.data)) as R & { error?: { description?: string } };
    if (r.error !== undefined) throw new RemoteError('jetstream', `${subject}: ${r.error.description ?? 'error'}`);
    return r;
  }

  /** @internal Messages stored in a stream now. */
  async streamMessages(stream: string): Promise<number> {
    const r = await this.api<{ state: { messages: number } }>(`$JS.API.STREAM.INFO.${stream}`);
    return r.state.messages;
  }

  /** @internal Messages of a consumer not yet delivered, plus delivered but unacknowledged. */
  async consumerPending(stream: string, consumer: string): Promise<number> {
    const r = await this.api<{ num_pending: number; num_ack_pending: number }>(`$JS.API.CONSUMER.INFO.${stream}.${consumer}`);
    return r.num_pending + r.num_ack_pending;
  }

  /** @internal The last message of every subject of `filter` in `stream`, with its server timestamp. */
  async lastPerSubject(stream: string, filter: string): Promise<Array<{ subject: string; data: Uint8Array; timestampMs: number }>> {
    const name = `weftsnap${nuid.next()}`;
    const created = await this.api<{ num_pending: number }>(
      `$JS.API.CONSUMER.CREATE.${stream}.${name}.${filter}`,
      JSON.stringify({
        stream_name: stream,
        config: {
          name,
          ack_policy: 'none',
          deliver_policy: 'last_per_subject',
          filter_subject: filter,
          inactive_threshold: 30_000_000_000,
          mem_storage: true,
          num_replicas: 1,
        },
      }),
    );
    const out: Array<{ subject: string; data: Uint8Array; timestampMs: number }> = [];
    try {
      const n = created.num_pending;
      if (n === 0) return out;
      const inbox = createInbox();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          sub.unsubscribe();
          resolve();
        }, this.settings.requestTimeoutMs);
        const sub = this.nc.subscribe(inbox, {
          callback: (err, m) => {
            const done = (): void => {
              clearTimeout(timer);
              sub.unsubscribe();
              resolve();
            };
            if (err !== null) return done();
            const reply = m.reply ?? '';
            if (!reply.startsWith('$JS.ACK.')) return done(); // a status: no more
            const t = reply.split('.');
            const ts = t.length === 9 ? t[7]! : t[t.length - 3]!;
            out.push({ subject: m.subject, data: m.data, timestampMs: Number(BigInt(ts) / 1_000_000n) });
            if (out.length >= n) done();
          },
        });
        this.publishRaw(`$JS.API.CONSUMER.MSG.NEXT.${stream}.${name}`, new TextEncoder().encode(JSON.stringify({ batch: n, no_wait: true })), inbox);
      });
      return out;
    } finally {
      this.api(`$JS.API.CONSUMER.DELETE.${stream}.${name}`).catch(() => undefined);
    }
  }

  /** @internal Resolves when `p` settles, the link closes, or `ms` pass. */
  untilSettled(p: Promise<void>, ms = Infinity): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      // setTimeout fires at once for delays past 2^31 - 1 ms: those are as good as no limit
      if (ms <= 0x7fffffff) timer = setTimeout(() => reject(new RemoteError('timeout', 'timed out')), ms);
      void this.nc.closed().then(() => reject(new RemoteError('closed', 'the link is closed')));
      p.then(
        () => {
          if (timer !== undefined) clearTimeout(timer);
          resolve();
        },
        (e: unknown) => {
          if (timer !== undefined) clearTimeout(timer);
          reject(e);
        },
      );
    });
  }

  private async watchStatus(): Promise<void> {
    for await (const s of this.nc.status()) {
      if (s.type === 'disconnect') {
        this.connected = false;
        for (const c of this.cores.values()) c.paused();
      } else if (s.type === 'reconnect') {
        this.connected = true;
        for (const c of this.cores.values()) c.resumed();
      }
    }
    // the connection is closed for good
    this.connected = false;
    for (const c of this.cores.values()) c.kill();
  }
}
