/**
 * weft's durable log writer: many producers, one component that owns a file,
 * batches their lines and writes them in order — fire-and-forget, or durable
 * with group commit (one `fdatasync` per batch) — with size and time
 * batching, backpressure, size rotation, and repair of a torn tail after a
 * crash. Built on weft channels: the writer consumes any `Receiver`, and a
 * producer needs only a `Sender`. Node.js only (`node:fs`). See docs/LOG.md.
 *
 * @example
 * ```ts
 * import { openLog } from 'weft/log';
 * const [log, writer] = await openLog('/tmp/app.log');
 * await log.write('fire and forget');
 * await log.writeDurable('on disk when this resolves');
 * log.close();
 * await writer.done;
 * ```
 * @module
 */
export { openLog, type OpenLogOptions } from './open.js';
export { LogWriter, type LogWriterOptions, type LogStats } from './writer.js';
export { LogProducer, type LogProducerOptions } from './producer.js';
export type { LogCommand, LogAck, LogAckError } from './command.js';
export { listSegments, repairLog, type LogHooks, type LogWriteInfo, type LogSyncInfo, type LogRecovery } from './segment.js';
export {
  LogError,
  LogLineError,
  LogClosedError,
  LogIOError,
  LogBusyError,
  type LogLineErrorReason,
} from './errors.js';
