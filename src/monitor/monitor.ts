/**
 * startHangMonitor: the monitor thread and its handle on the main thread;
 * joinHangMonitor: a worker thread's side.
 * @module
 */
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { unbounded, type Receiver } from '../channel/index.js';
import type { HangAlert, ProfileSample } from './alert.js';
import { checkTimeouts, Registrar, type ComponentRegistration, type RegisterOptions } from './registration.js';
import { createTable, markStopped, openTable } from './table.js';
import type { ControlMessage, MonitorMessage, MonitorWorkerData } from './worker.js';

/**
 * Timeouts given to every loop weft starts on a watched thread (components
 * from `spawn`, pool workers) unless {@link HangMonitorOptions.components}
 * says otherwise.
 *
 * @example
 * ```ts
 * import { DEFAULT_COMPONENT_TIMEOUTS } from 'weft/monitor';
 * console.log(DEFAULT_COMPONENT_TIMEOUTS); // { transientMs: 250, permanentMs: 2000 }
 * ```
 */
export const DEFAULT_COMPONENT_TIMEOUTS: Readonly<RegisterOptions> = Object.freeze({ transientMs: 250, permanentMs: 2000 });

/**
 * Options of {@link startHangMonitor}.
 *
 * @example
 * ```ts
 * import { startHangMonitor, type HangMonitorOptions } from 'weft/monitor';
 * const options: HangMonitorOptions = { periodMs: 5, components: { transientMs: 100, permanentMs: 1000 } };
 * const monitor = startHangMonitor(options);
 * await monitor.shutdown();
 * ```
 */
export interface HangMonitorOptions {
  /** Checkpoint period in ms (default 10): alerts come at most about this late. */
  periodMs?: number;
  /** Maximum number of registered components at once, over all threads (default 256). */
  tableSize?: number;
  /**
   * Attach the hung thread's stack to permanent alerts (default `true`). The
   * sample runs a tiny script on the hung thread through the inspector (see
   * {@link HangAlert.frames}); turn it off where no inspector session may be
   * opened.
   */
  sampleStacks?: boolean;
  /**
   * Watch weft's own loops on the main thread (components from `spawn`, pool
   * workers): each registers itself with these timeouts, reports activity
   * while it handles a message and waiting while it blocks, and unregisters
   * when it ends. Default {@link DEFAULT_COMPONENT_TIMEOUTS}; `false` to
   * register by hand only. While watching, the main thread keeps the monitor
   * running (it stops at {@link HangMonitor.shutdown}).
   */
  components?: RegisterOptions | false;
}

/**
 * What a worker thread needs to join a monitor: give it to the worker via
 * `workerData` or `postMessage`, with `token.port` in the transfer list.
 *
 * @example
 * ```ts
 * import { Worker } from 'node:worker_threads';
 * import { startHangMonitor, type MonitorToken } from 'weft/monitor';
 * const monitor = startHangMonitor();
 * const token: MonitorToken = monitor.token();
 * const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: { token }, transferList: [token.port] });
 * ```
 */
export interface MonitorToken {
  sab: SharedArrayBuffer;
  port: MessagePort;
}

/**
 * A worker thread's membership in a monitor, from {@link joinHangMonitor}.
 *
 * @example
 * ```ts
 * import { workerData } from 'node:worker_threads';
 * import { joinHangMonitor } from 'weft/monitor';
 * const member = joinHangMonitor(workerData.token);
 * const reg = member.register('decoder', { transientMs: 50, permanentMs: 500 });
 * reg.notifyActivity('frame'); reg.notifyWait();
 * member.leave();
 * ```
 */
export interface HangMonitorMember {
  /** Registers a component on this thread; synchronous, never waits; a no-op handle once the monitor is gone. */
  register(name: string, options: RegisterOptions): ComponentRegistration;
  /** Leaves: stops watching this thread's loops; the monitor drops this thread's registrations. Also happens when the thread exits. */
  leave(): void;
}

/**
 * Options of {@link joinHangMonitor}.
 *
 * @example
 * ```ts
 * import { workerData } from 'node:worker_threads';
 * import { joinHangMonitor, type JoinOptions } from 'weft/monitor';
 * const options: JoinOptions = { components: { transientMs: 100, permanentMs: 1000 } };
 * const member = joinHangMonitor(workerData.token, options);
 * ```
 */
export interface JoinOptions {
  /** As {@link HangMonitorOptions.components}, for this worker thread's loops. */
  components?: RegisterOptions | false;
}

/**
 * A running hang monitor (main thread side), from {@link startHangMonitor}.
 *
 * @example
 * ```ts
 * import { formatAlert, startHangMonitor, type HangMonitor } from 'weft/monitor';
 * const monitor: HangMonitor = startHangMonitor();
 * void (async () => { for await (const a of monitor.alerts) console.warn(formatAlert(a)); })();
 * // … the application runs …
 * await monitor.shutdown();
 * ```
 */
export interface HangMonitor {
  /** Alerts, in the order the monitor raised them; disconnected when the monitor is gone. */
  readonly alerts: Receiver<HangAlert>;
  /** Registers a main-thread component by hand (weft's own loops register themselves). */
  register(name: string, options: RegisterOptions): ComponentRegistration;
  /** A token for a worker thread to {@link joinHangMonitor} with (one per worker). */
  token(): MonitorToken;
  /**
   * The sampler toggle: samples the stacks of `threads` (default: every
   * thread with a registration) every `intervalMs` (default 10) for
   * `durationMs`, and resolves with the samples (empty once the monitor is
   * gone). Each sample costs its thread one short script run.
   *
   * @example
   * ```ts
   * const samples = await monitor.profile({ durationMs: 2000, intervalMs: 20 });
   * const hot = samples.filter((s) => s.frames[0]?.functionName === 'render').length;
   * console.log(`render on top in ${hot} of ${samples.length} samples`);
   * ```
   */
  profile(options: ProfileOptions): Promise<ProfileSample[]>;
  /** Stops the monitor and waits for its thread to exit. Idempotent. */
  shutdown(): Promise<void>;
  /**
   * Resolves once the monitor thread runs its loop (or has exited). Activity
   * before that is timed from when the monitor first sees the registration.
   */
  readonly ready: Promise<void>;
  /** Resolves when the monitor thread has exited (shutdown, or every registration gone). */
  readonly exited: Promise<void>;
  /** Whether the monitor thread is still running. */
  readonly running: boolean;
}

/**
 * Options of {@link HangMonitor.profile}.
 *
 * @example
 * ```ts
 * import type { ProfileOptions } from 'weft/monitor';
 * const mainOnly: ProfileOptions = { durationMs: 1000, intervalMs: 5, threads: [0] };
 * ```
 */
export interface ProfileOptions {
  /** How long to sample, ms. */
  durationMs: number;
  /** Time between two samples of a thread, ms (default 10). */
  intervalMs?: number;
  /** Thread ids to sample (0 = main); default: every thread with a registration at each tick. */
  threads?: number[];
}

/** How long shutdown waits for the monitor to exit by itself before terminating it. */
const SHUTDOWN_GUARD_MS = 5000;

/**
 * Starts a hang monitor on its own (unref'd) worker thread. weft's loops on
 * this thread register themselves (see {@link HangMonitorOptions.components});
 * other code registers by hand and calls `notifyActivity()` / `notifyWait()`.
 * A component that stays active past its `transientMs` raises a
 * `'transient'` alert, past `permanentMs` a `'permanent'` alert with its
 * thread's stack, sampled while it is still stuck. Worker threads join with
 * {@link HangMonitor.token} and {@link joinHangMonitor}.
 *
 * @example
 * ```ts
 * import { bounded, spawn } from 'weft';
 * import { formatAlert, startHangMonitor } from 'weft/monitor';
 * const monitor = startHangMonitor({ components: { transientMs: 100, permanentMs: 1000 } });
 * void (async () => { for await (const a of monitor.alerts) console.warn(formatAlert(a)); })();
 * const [jobs, rx] = bounded<string>(8);
 * spawn({ handle(_s, msg) { parse(msg.value); } }, { inputs: { rx }, name: 'parser' }); // reports by itself
 * const reg = monitor.register('render', { transientMs: 16, permanentMs: 500 });      // or by hand
 * reg.notifyActivity('frame'); render(); reg.notifyWait();
 * ```
 */
export function startHangMonitor(options: HangMonitorOptions = {}): HangMonitor {
  const periodMs = options.periodMs ?? 10;
  if (!(periodMs > 0) || !Number.isFinite(periodMs)) throw new RangeError(`periodMs: expected a finite number > 0, got ${periodMs}`);
  const components = options.components ?? DEFAULT_COMPONENT_TIMEOUTS;
  if (components !== false) checkTimeouts('components', components);
  const table = createTable(options.tableSize ?? 256);
  const { port1, port2 } = new MessageChannel();
  const data: MonitorWorkerData = { sab: table.sab, periodMs, port: port1, sampleStacks: options.sampleStacks ?? true };
  const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: data, transferList: [port1] });
  port2.unref();
  const [alertTx, alerts] = unbounded<HangAlert>();
  let running = true;
  let onReady!: () => void;
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  // The monitor thread keeps the process alive only while something awaits it (start-up,
  // a profile, shutdown), never for the watching itself. (Adding a 'message' listener to a
  // Worker refs it again, so this counts rather than calls unref() once.)
  let refs = 1;
  const refWorker = (): void => {
    if (refs++ === 0) worker.ref();
  };
  const unrefWorker = (): void => {
    if (--refs === 0) worker.unref();
  };
  const profiles = new Map<number, (samples: ProfileSample[]) => void>();
  let nextProfile = 1;
  worker.on('message', (m: MonitorMessage) => {
    if (m.type === 'ready') {
      onReady();
      return unrefWorker();
    }
    if (m.type === 'detached') {
      // A macrotask later this thread has surely dispatched the inspector work queued before
      // the message (it runs in an interrupt or its own async handle): then the monitor may exit.
      setTimeout(() => control({ type: 'detached-ack' }), 1);
      return;
    }
    if (m.type === 'profile') {
      profiles.get(m.id)?.(m.samples);
      profiles.delete(m.id);
      unrefWorker();
      return;
    }
    try {
      alertTx.trySend(m.alert);
    } catch {
      // nobody listens any more
    }
  });
  worker.on('error', (e: unknown) => {
    // The exit event follows (and disconnects the alerts); say why rather than go quiet.
    process.emitWarning(`the hang monitor thread failed: ${e instanceof Error ? e.message : String(e)}`, 'WeftMonitorWarning');
  });
  const exited = new Promise<void>((resolve) => {
    worker.once('exit', () => {
      running = false;
      onReady();
      markStopped(table);
      registrar.close();
      alertTx.close();
      for (const r of profiles.values()) r([]);
      profiles.clear();
      resolve();
    });
  });
  const registrar = new Registrar(table, port2);
  if (components !== false) registrar.watchLoops(components);

  const control = (m: ControlMessage, transfer?: MessagePort[]): boolean => {
    if (!running) return false;
    try {
      worker.postMessage(m, transfer);
      return true;
    } catch {
      return false;
    }
  };

  let shutdownPromise: Promise<void> | undefined;
  return {
    alerts,
    exited,
    ready,
    get running() {
      return running;
    },
    register: (name, opts) => registrar.register(name, opts),
    profile(opts) {
      const { durationMs, intervalMs = 10, threads } = opts;
      if (!(durationMs >= 0) || !Number.isFinite(durationMs)) throw new RangeError(`profile: durationMs must be a finite number >= 0, got ${durationMs}`);
      if (!(intervalMs > 0) || !Number.isFinite(intervalMs)) throw new RangeError(`profile: intervalMs must be a finite number > 0, got ${intervalMs}`);
      if (threads !== undefined && !threads.every((t) => Number.isInteger(t) && t >= 0)) throw new RangeError('profile: threads must be thread ids (integers >= 0, 0 = main)');
      const id = nextProfile++;
      return new Promise<ProfileSample[]>((resolve) => {
        profiles.set(id, resolve);
        refWorker(); // a pending profile keeps the process alive, like any pending I/O
        if (!control({ type: 'profile', id, durationMs, intervalMs, ...(threads !== undefined ? { threads: [...threads] } : {}) })) {
          profiles.delete(id);
          unrefWorker();
          resolve([]);
        }
      });
    },
    token() {
      const { port1: mine, port2: theirs } = new MessageChannel();
      if (!control({ type: 'port', port: mine }, [mine])) mine.close();
      return { sab: table.sab, port: theirs };
    },
    shutdown() {
      if (shutdownPromise !== undefined) return shutdownPromise;
      markStopped(table); // registrations become no-ops at once
      if (running) refWorker(); // awaiting the exit keeps the process alive
      control({ type: 'stop' });
      shutdownPromise = (async () => {
        if (!running) return;
        let guard: ReturnType<typeof setTimeout> | undefined;
        const timedOut = new Promise<boolean>((resolve) => {
          guard = setTimeout(() => resolve(true), SHUTDOWN_GUARD_MS);
        });
        const late = await Promise.race([exited.then(() => false), timedOut]);
        clearTimeout(guard);
        if (late) await worker.terminate();
        await exited;
      })();
      return shutdownPromise;
    },
  };
}

/**
 * Joins a monitor from a worker thread, with a token from
 * {@link HangMonitor.token}: weft's loops on this thread then register
 * themselves (see {@link JoinOptions}), and other code registers by hand.
 * The thread's registrations go away when it calls `leave()` or exits.
 *
 * @example
 * ```ts
 * import { workerData } from 'node:worker_threads';
 * import { spawn } from 'weft';
 * import { joinHangMonitor } from 'weft/monitor';
 * const member = joinHangMonitor(workerData.token);
 * spawn(body, { inputs, name: 'resizer' }); // watched: reports activity and waiting by itself
 * ```
 */
export function joinHangMonitor(token: MonitorToken, options: JoinOptions = {}): HangMonitorMember {
  const components = options.components ?? DEFAULT_COMPONENT_TIMEOUTS;
  if (components !== false) checkTimeouts('components', components);
  const table = openTable(token.sab);
  token.port.unref();
  const registrar = new Registrar(table, token.port);
  if (components !== false) registrar.watchLoops(components);
  return {
    register: (name, opts) => registrar.register(name, opts),
    leave: () => registrar.close(),
  };
}
