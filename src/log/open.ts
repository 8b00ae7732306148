/**
 * `openLog`: a log writer and its first producer in one call.
 *
 * @module
 */
import { bounded } from '../channel/index.js';
import type { LogCommand } from './command.js';
import { LogProducer, type LogProducerOptions } from './producer.js';
import { LogWriter, type LogWriterOptions } from './writer.js';

/**
 * Options of {@link openLog}: the writer's options, plus the capacity of the
 * command channel and the producer's options.
 *
 * @example
 * ```ts
 * import { openLog, type OpenLogOptions } from 'weft/log';
 * const options: OpenLogOptions = { capacity: 4096, maxDelayMs: 2 };
 * const [log, writer] = await openLog('/tmp/app.log', options);
 * log.close(); await writer.done;
 * ```
 */
export interface OpenLogOptions extends LogWriterOptions, LogProducerOptions {
  /**
   * Commands the channel holds before producers wait (backpressure when the
   * disk is slow). Default 1024.
   */
  readonly capacity?: number;
}

/**
 * Opens (or creates, repairing a torn tail) the log at `path` and starts
 * its writer on a new `bounded(capacity)` channel. Returns the first
 * producer handle — clone it for each producer, close every clone (and it)
 * when done — and the writer, like `bounded()` returns `[tx, rx]`.
 *
 * @throws like {@link LogWriter.open}
 * @example
 * ```ts
 * import { openLog } from 'weft/log';
 * const [log, writer] = await openLog('/tmp/app.log', { maxBytes: 16 << 20 });
 * const producers = [0, 1, 2, 3].map(async (id) => {
 *   using mine = log.clone();
 *   for (let i = 0; i < 100; i++) await mine.writeDurable(JSON.stringify({ id, i }));
 * });
 * log.close();                     // keep only the clones
 * await Promise.all(producers);
 * const stats = await writer.done; // every Sender closed: all written and synced
 * console.log(`${stats.lines} lines, ${stats.syncs} syncs`);
 * ```
 */
export async function openLog(path: string, options: OpenLogOptions = {}): Promise<[LogProducer, LogWriter]> {
  const [tx, rx] = bounded<LogCommand>(options.capacity ?? 1024);
  let writer: LogWriter;
  try {
    writer = await LogWriter.open(path, rx, options);
  } catch (e) {
    tx.close();
    throw e;
  }
  return [new LogProducer(tx, options), writer];
}
