/**
 * The hang monitor layer: a background thread that watches registered
 * components through a shared heartbeat table and reports the ones that stay
 * busy too long (with a sampled stack for permanent hangs).
 * @module
 */
export { startHangMonitor, joinHangMonitor, type HangMonitor, type HangMonitorOptions, type HangMonitorMember, type MonitorToken } from './monitor.js';
export { ComponentRegistration, type RegisterOptions } from './registration.js';
export { formatAlert, type HangAlert, type StackFrame } from './alert.js';
