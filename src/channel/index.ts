/**
 * In-loop channels: the public surface of the channel layer.
 * @module
 */
export { bounded, unbounded, after, at, tick, never } from './channels.js';
export { Sender, type SendOptions } from './sender.js';
export { Receiver, type RecvOptions } from './receiver.js';
export {
  select,
  selectSync,
  trySelect,
  ready,
  tryReady,
  recv,
  send,
  type RecvCase,
  type SendCase,
  type SelectCase,
  type SelectCases,
  type SelectResult,
  type SelectOptions,
} from './select.js';
export {
  WeftError,
  SendError,
  SendAbortedError,
  TrySendError,
  SendTimeoutError,
  RecvError,
  TryRecvError,
  RecvTimeoutError,
  SelectTimeoutError,
  ClosedHandleError,
  InvalidValueError,
  type TrySendErrorKind,
  type SendTimeoutErrorKind,
  type TryRecvErrorKind,
  type RecvTimeoutErrorKind,
} from './errors.js';
export { configure, type WeftConfig } from './leaks.js';
