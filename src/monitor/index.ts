/**
 * `weft/monitor`: a background hang monitor. It runs on its own worker
 * thread and watches components on the main thread and on worker threads
 * through a shared heartbeat table; a component that stays busy too long
 * raises a `transient` alert, then a `permanent` one carrying the stack of
 * its thread, sampled while it is still stuck. weft's own loops (components
 * from `spawn`) register and report by themselves.
 *
 * @example
 * ```ts
 * import { bounded, spawn } from 'weft';
 * import { formatAlert, startHangMonitor } from 'weft/monitor';
 * const monitor = startHangMonitor({ components: { transientMs: 100, permanentMs: 1000 } });
 * void (async () => { for await (const alert of monitor.alerts) console.warn(formatAlert(alert)); })();
 * const [jobs, rx] = bounded<number>(8);
 * spawn({ handle(_s, msg) { while (msg.value > 0) {} } }, { inputs: { jobs: rx }, name: 'spinner' });
 * await jobs.send(1); // the handler never returns: a transient alert, then a permanent one with its stack
 * ```
 * @module
 */
export {
  startHangMonitor,
  joinHangMonitor,
  DEFAULT_COMPONENT_TIMEOUTS,
  type HangMonitor,
  type HangMonitorOptions,
  type HangMonitorMember,
  type JoinOptions,
  type MonitorToken,
  type ProfileOptions,
} from './monitor.js';
export { ComponentRegistration, type RegisterOptions } from './registration.js';
export { formatAlert, type HangAlert, type ProfileSample, type StackFrame } from './alert.js';
