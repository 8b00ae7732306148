/**
 * startHangMonitor: the monitor thread and its handle on the main thread.
 * @module
 */
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { unbounded, type Receiver } from '../channel/index.js';
import type { HangAlert } from './alert.js';
import { Registrar, type ComponentRegistration, type RegisterOptions } from './registration.js';
import { createTable, markStopped, openTable } from './table.js';
import { Sampler, type SamplerMode } from './sampler.js';
import type { ControlMessage, MonitorMessage, MonitorWorkerData } from './worker.js';

/** Options of {@link startHangMonitor}. */
export interface HangMonitorOptions {
  /** Checkpoint period in ms (default 10). */
  periodMs?: number;
  /** Maximum number of registered components at once, over all threads (default 256). */
  tableSize?: number;
  /** How stacks are sampled for permanent hangs (default `'debugger'`; see sampler.ts). */
  sampler?: SamplerMode;
  /**
   * Also sample the stacks of hung worker threads (default `false`). Off by
   * default: on Node 20 pausing a busy worker through the inspector can abort
   * the whole process (a V8 check failure while it builds the paused frames).
   * Alerts for worker components then come without `frames`.
   */
  sampleWorkers?: boolean;
}

/**
 * What a worker thread needs to join a monitor: give it to the worker via
 * `workerData` or `postMessage`, with `token.port` in the transfer list.
 */
export interface MonitorToken {
  sab: SharedArrayBuffer;
  port: MessagePort;
}

/** Registration on one thread. */
export interface HangMonitorMember {
  /** Registers a component; synchronous, never waits; a no-op handle after shutdown. */
  register(name: string, options: RegisterOptions): ComponentRegistration;
  /** Leaves: the monitor drops this thread's registrations. */
  leave(): void;
}

/** A running hang monitor (main thread side). */
export interface HangMonitor {
  /** Alerts, in the order the monitor raised them; disconnected when the monitor is gone. */
  readonly alerts: Receiver<HangAlert>;
  /** Registers a main-thread component. */
  register(name: string, options: RegisterOptions): ComponentRegistration;
  /** A token for a worker thread to {@link joinHangMonitor} with. */
  token(): MonitorToken;
  /** Stops the monitor and waits for its thread to exit. Idempotent. */
  shutdown(): Promise<void>;
  /**
   * Resolves once the monitor thread runs its loop (or has exited). Activity
   * before that is timed from when the monitor first sees the registration.
   */
  readonly ready: Promise<void>;
  /** Resolves when the monitor thread has exited (shutdown, or every component gone). */
  readonly exited: Promise<void>;
  /** Whether the monitor thread is still running. */
  readonly running: boolean;
}

/** How long shutdown waits for the monitor to exit by itself before terminating it. */
const SHUTDOWN_GUARD_MS = 5000;

/**
 * Starts a hang monitor on its own (unref'd) worker thread. Components register,
 * then call `notifyActivity()` / `notifyWait()`; one that stays active past its
 * `transientMs` raises a `'transient'` alert, past `permanentMs` a `'permanent'`
 * alert with its thread's sampled stack.
 *
 * @example
 * ```ts
 * const monitor = startHangMonitor();
 * const reg = monitor.register('parser', { transientMs: 50, permanentMs: 1000 });
 * reg.notifyActivity('chunk'); parse(); reg.notifyWait();
 * for await (const a of monitor.alerts) console.warn(formatAlert(a));
 * ```
 */
export function startHangMonitor(options: HangMonitorOptions = {}): HangMonitor {
  const periodMs = options.periodMs ?? 10;
  if (!(periodMs > 0) || !Number.isFinite(periodMs)) throw new RangeError(`periodMs: expected a finite number > 0, got ${periodMs}`);
  const samplerMode: SamplerMode = options.sampler ?? 'debugger';
  const table = createTable(options.tableSize ?? 256);
  const { port1, port2 } = new MessageChannel();
  const data: MonitorWorkerData = { sab: table.sab, periodMs, port: port1, sampler: samplerMode, sampleWorkers: options.sampleWorkers ?? false };
  const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: data, transferList: [port1] });
  worker.unref();
  port2.unref();
  const [alertTx, alerts] = unbounded<HangAlert>();
  let running = true;
  let localSampler: Sampler | undefined;
  let onReady!: () => void;
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  worker.on('message', (m: MonitorMessage) => {
    if (m.type === 'ready') return onReady();
    if (m.type === 'sample') {
      localSampler ??= new Sampler(samplerMode, true);
      void localSampler.sample(m.threadId).then((frames) => control({ type: 'sampled', id: m.id, frames }));
      return;
    }
    try {
      alertTx.trySend(m.alert);
    } catch {
      // nobody listens any more
    }
  });
  worker.on('error', () => {
    // the exit event follows
  });
  const exited = new Promise<void>((resolve) => {
    worker.once('exit', () => {
      running = false;
      onReady();
      markStopped(table);
      void localSampler?.close();
      registrar.close();
      alertTx.close();
      resolve();
    });
  });
  const registrar = new Registrar(table, port2);

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
    token() {
      if (samplerMode === 'debugger' && running) {
        localSampler ??= new Sampler(samplerMode, true);
        localSampler.prepareWorkers();
      }
      const { port1: mine, port2: theirs } = new MessageChannel();
      if (!control({ type: 'port', port: mine }, [mine])) mine.close();
      return { sab: table.sab, port: theirs };
    },
    shutdown() {
      if (shutdownPromise !== undefined) return shutdownPromise;
      markStopped(table); // registrations become no-ops at once
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

/** Joins a monitor from a worker thread, with a token from {@link HangMonitor.token}. */
export function joinHangMonitor(token: MonitorToken): HangMonitorMember {
  const table = openTable(token.sab);
  token.port.unref();
  const registrar = new Registrar(table, token.port);
  return {
    register: (name, opts) => registrar.register(name, opts),
    leave: () => registrar.close(),
  };
}
