/**
 * The file side of the log writer: the active segment, appending, syncing,
 * size rotation, and the repair of a torn tail on reopen.
 *
 * Layout on disk. The log at `path` is a sequence of segments read in this
 * order: `path.1`, `path.2`, … (closed segments, higher is newer), then
 * `path` itself (the active segment, the only one ever written to). Every
 * segment holds whole lines, each ending in `'\n'`.
 *
 * Rotation. Before a batch is written, if the active segment is not empty
 * and the batch would take it past `maxBytes`, the segment is synced,
 * closed, renamed to `path.<n+1>` (n = the highest number present), and a
 * new empty `path` is created; the directory is synced so the rename and
 * the new file survive a power loss. A batch is never split, so a segment
 * exceeds `maxBytes` only when a single batch is larger than it.
 *
 * Repair. A crash (kill -9, power loss) can cut the last write short,
 * leaving a partial line at the end of the active segment. No confirmed
 * line can be in that tail: a durable write is confirmed only after the
 * sync of a write that ends in `'\n'`. So on open, if the file does not end
 * with `'\n'`, it is truncated back to just after its last `'\n'` (to empty
 * if it has none) and synced before anything is appended. Writes are
 * strictly sequential appends, and the writer stops at its first disk
 * error, so a torn line can only ever be at the end.
 *
 * @module
 */
import { mkdir, open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { LogIOError } from './errors.js';

/**
 * What a write hook is told about the write it wraps.
 *
 * @example
 * ```ts
 * import type { LogWriteInfo } from 'weft/log';
 * const describe = (w: LogWriteInfo): string => `${w.lines} lines, ${w.bytes} bytes to ${w.path}`;
 * console.log(describe({ path: '/tmp/app.log', bytes: 12, lines: 2 }));
 * ```
 */
export interface LogWriteInfo {
  /** The segment written to. */
  readonly path: string;
  /** Bytes in this write (one buffer, whole lines). */
  readonly bytes: number;
  /** Lines in this write. */
  readonly lines: number;
}

/**
 * What a sync hook is told about the sync it wraps.
 *
 * @example
 * ```ts
 * import { openLog, type LogSyncInfo } from 'weft/log';
 * const synced: LogSyncInfo[] = [];
 * const [log, writer] = await openLog('/tmp/app.log', { hooks: { async sync(next, info) { await next(); synced.push(info); } } });
 * await log.writeDurable('x');
 * console.log(synced[0]?.bytes); // 2
 * log.close(); await writer.done;
 * ```
 */
export interface LogSyncInfo {
  /** The segment synced. */
  readonly path: string;
  /** Bytes written to it since its previous sync. */
  readonly bytes: number;
}

/**
 * Wrappers around the two disk operations of the writer, to observe them,
 * slow them down or make them fail (tests, metrics, fault injection). Each
 * hook gets `next`, which performs the real operation; a hook must either
 * call and await `next()` and resolve, or reject (the writer then treats the
 * operation as a disk error). Resolving without calling `next` means "done"
 * although nothing happened: only do that to simulate a lying disk.
 *
 * @example
 * ```ts
 * import { openLog, type LogHooks } from 'weft/log';
 * let syncs = 0;
 * const hooks: LogHooks = {
 *   async sync(next) { syncs++; await next(); },                        // count syncs
 *   async write(next, info) { if (info.bytes > 1e9) throw new Error('no'); await next(); },
 * };
 * const [log, writer] = await openLog('/tmp/app.log', { hooks });
 * await log.writeDurable('hello');
 * console.log(syncs); // 1
 * log.close(); await writer.close();
 * ```
 */
export interface LogHooks {
  /** Wraps the write of one batch (a single buffer of whole lines). */
  write?(next: () => Promise<void>, info: LogWriteInfo): Promise<void>;
  /** Wraps one `fdatasync` (or `fsync`) of the active segment. */
  sync?(next: () => Promise<void>, info: LogSyncInfo): Promise<void>;
}

/**
 * What opening a log found and repaired.
 *
 * @example
 * ```ts
 * import { repairLog } from 'weft/log';
 * const r = await repairLog('/tmp/app.log');
 * if (r.truncatedBytes > 0) console.log(`dropped a torn tail of ${r.truncatedBytes} bytes`);
 * ```
 */
export interface LogRecovery {
  /** The active segment existed before (false: it was created). */
  readonly existed: boolean;
  /** Size of the active segment after the repair, in bytes. */
  readonly bytes: number;
  /** Bytes of a partial last line that were cut off (0: the file was whole). */
  readonly truncatedBytes: number;
  /** Closed segments (`path.1`, `path.2`, …) found next to it. */
  readonly segments: number;
}

/** @internal */
export interface SegmentOptions {
  readonly maxBytes: number;
  readonly keepSegments: number;
  readonly fullSync: boolean;
  readonly hooks: LogHooks;
}

const NEWLINE = 0x0a;
const TAIL_CHUNK = 64 * 1024;

/** @internal The active segment of one log. */
export class Segment {
  /** Bytes in the active segment. */
  size: number;
  /** Bytes written since the last sync. */
  private unsynced = 0;
  /** Number of the next closed segment. */
  private next: number;
  /** Syncs done (including those of rotations and of close). */
  syncs = 0;
  private fh: FileHandle | undefined;

  private constructor(
    readonly path: string,
    fh: FileHandle,
    size: number,
    next: number,
    private readonly options: SegmentOptions,
  ) {
    this.fh = fh;
    this.size = size;
    this.next = next;
  }

  /** Opens (creating if needed) and repairs the active segment of the log at `path`. */
  static async open(path: string, options: SegmentOptions): Promise<{ segment: Segment; recovery: LogRecovery }> {
    const full = resolve(path);
    let fh: FileHandle | undefined;
    try {
      await mkdir(dirname(full), { recursive: true });
      const existed = await exists(full);
      fh = await open(full, 'a+');
      const before = (await fh.stat()).size;
      const truncatedBytes = await repairTail(fh, before, options.fullSync);
      if (!existed) await syncDir(dirname(full));
      const numbers = await closedSegments(full);
      const segment = new Segment(full, fh, before - truncatedBytes, (numbers[numbers.length - 1] ?? 0) + 1, options);
      return { segment, recovery: { existed, bytes: before - truncatedBytes, truncatedBytes, segments: numbers.length } };
    } catch (e) {
      await fh?.close().catch(() => undefined);
      throw LogIOError.from('open', full, e);
    }
  }

  /** Would writing `bytes` more take a non-empty segment past `maxBytes`? */
  wouldOverflow(bytes: number): boolean {
    return this.size > 0 && this.size + bytes > this.options.maxBytes;
  }

  /** Appends `buf` (whole lines), all of it. */
  async write(buf: Buffer, lines: number): Promise<void> {
    const fh = this.handle('write');
    const doWrite = async (): Promise<void> => {
      let off = 0;
      while (off < buf.length) {
        const { bytesWritten } = await fh.write(buf, off, buf.length - off, null);
        if (!(bytesWritten > 0)) throw Object.assign(new Error('the write made no progress'), { code: 'EIO' });
        off += bytesWritten;
      }
    };
    try {
      const hook = this.options.hooks.write;
      await (hook === undefined ? doWrite() : hook(doWrite, { path: this.path, bytes: buf.length, lines }));
    } catch (e) {
      throw LogIOError.from('write', this.path, e);
    }
    this.size += buf.length;
    this.unsynced += buf.length;
  }

  /** True when something was written since the last sync. */
  get dirty(): boolean {
    return this.unsynced > 0;
  }

  /** `fdatasync` (or `fsync`) of the active segment, if anything was written since the last one. */
  async sync(): Promise<boolean> {
    if (this.unsynced === 0) return false;
    const fh = this.handle('sync');
    const bytes = this.unsynced;
    const doSync = (): Promise<void> => (this.options.fullSync ? fh.sync() : fh.datasync());
    try {
      const hook = this.options.hooks.sync;
      await (hook === undefined ? doSync() : hook(doSync, { path: this.path, bytes }));
    } catch (e) {
      throw LogIOError.from('sync', this.path, e);
    }
    this.unsynced -= bytes;
    this.syncs++;
    return true;
  }

  /**
   * Closes the active segment (synced) as `path.<n>` and starts a new empty
   * one. Returns the closed segment's name.
   */
  async rotate(): Promise<string> {
    await this.sync();
    const closed = `${this.path}.${this.next}`;
    try {
      const fh = this.handle('rotate');
      this.fh = undefined;
      await fh.close();
      await rename(this.path, closed);
      this.next++;
      this.fh = await open(this.path, 'a+');
      this.size = 0;
      this.unsynced = 0;
      await syncDir(dirname(this.path));
      await this.prune();
    } catch (e) {
      throw LogIOError.from('rotation', this.path, e);
    }
    return closed;
  }

  /** Syncs and closes the active segment. */
  async close(): Promise<void> {
    await this.sync();
    const fh = this.fh;
    this.fh = undefined;
    try {
      await fh?.close();
    } catch (e) {
      throw LogIOError.from('close', this.path, e);
    }
  }

  /** Closes without syncing, ignoring errors (after a failure). */
  async abandon(): Promise<void> {
    const fh = this.fh;
    this.fh = undefined;
    await fh?.close().catch(() => undefined);
  }

  /** Deletes the oldest closed segments beyond `keepSegments`. */
  private async prune(): Promise<void> {
    if (this.options.keepSegments === Infinity) return;
    const numbers = await closedSegments(this.path);
    const extra = numbers.length - this.options.keepSegments;
    for (let i = 0; i < extra; i++) await rm(`${this.path}.${numbers[i]}`, { force: true });
  }

  private handle(what: string): FileHandle {
    if (this.fh === undefined) throw new LogIOError(`log ${what} failed on ${this.path}: the file is closed`, undefined);
    return this.fh;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (e) {
    if ((e as { code?: unknown }).code === 'ENOENT') return false;
    throw e;
  }
}

/** Makes a create or rename in `dir` durable. */
async function syncDir(dir: string): Promise<void> {
  if (process.platform === 'win32') return; // directories cannot be opened for sync there
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

/**
 * Cuts a partial last line: if the file does not end with '\n', truncates it
 * to just after its last '\n' (or to empty), and syncs. Returns the bytes cut.
 */
async function repairTail(fh: FileHandle, size: number, fullSync: boolean): Promise<number> {
  if (size === 0) return 0;
  const buf = Buffer.allocUnsafe(Math.min(TAIL_CHUNK, size));
  let end = size;
  let keep = 0;
  let first = true;
  while (end > 0) {
    const len = Math.min(buf.length, end);
    const start = end - len;
    const { bytesRead } = await fh.read(buf, 0, len, start);
    if (bytesRead !== len) throw Object.assign(new Error(`short read while checking the tail (${bytesRead} of ${len} bytes)`), { code: 'EIO' });
    if (first && buf[len - 1] === NEWLINE) return 0;
    first = false;
    const at = buf.subarray(0, len).lastIndexOf(NEWLINE);
    if (at >= 0) {
      keep = start + at + 1;
      break;
    }
    end = start;
  }
  await fh.truncate(keep);
  await (fullSync ? fh.sync() : fh.datasync());
  return size - keep;
}

/** Numbers of the closed segments of the log at `path`, ascending. */
async function closedSegments(path: string): Promise<number[]> {
  const base = basename(path);
  let names: string[];
  try {
    names = await readdir(dirname(path));
  } catch (e) {
    if ((e as { code?: unknown }).code === 'ENOENT') return [];
    throw e;
  }
  const numbers: number[] = [];
  for (const name of names) {
    if (name.length <= base.length + 1 || !name.startsWith(base) || name.charCodeAt(base.length) !== 0x2e) continue;
    const rest = name.slice(base.length + 1);
    if (/^[1-9][0-9]{0,14}$/.test(rest)) numbers.push(Number(rest));
  }
  return numbers.sort((a, b) => a - b);
}

/**
 * The files of the log at `path`, in reading order: the closed segments
 * `path.1`, `path.2`, … (oldest first), then `path` itself if it exists.
 * Concatenated, they are the whole log.
 *
 * @example
 * ```ts
 * import { readFile } from 'node:fs/promises';
 * import { listSegments } from 'weft/log';
 * let lines: string[] = [];
 * for (const file of await listSegments('/tmp/app.log')) {
 *   lines = lines.concat((await readFile(file, 'utf8')).split('\n').slice(0, -1));
 * }
 * ```
 */
export async function listSegments(path: string): Promise<string[]> {
  const full = resolve(path);
  const files = (await closedSegments(full)).map((n) => `${full}.${n}`);
  if (await exists(full)) files.push(full);
  return files;
}

/**
 * Repairs the log at `path` without opening a writer: if its active segment
 * ends in a partial line (a crash cut the last write short), truncates it
 * back to the last `'\n'` and syncs. A writer does this itself on open; use
 * this before reading a log that a crashed process left behind. A missing
 * file is not created.
 *
 * @example
 * ```ts
 * import { repairLog } from 'weft/log';
 * const { truncatedBytes } = await repairLog('/tmp/app.log');
 * console.log(truncatedBytes); // 0 when the last line was whole
 * ```
 */
export async function repairLog(path: string, options?: { readonly fullSync?: boolean }): Promise<LogRecovery> {
  const full = resolve(path);
  let fh: FileHandle | undefined;
  try {
    const segments = (await closedSegments(full)).length;
    if (!(await exists(full))) return { existed: false, bytes: 0, truncatedBytes: 0, segments };
    fh = await open(full, 'r+');
    const before = (await fh.stat()).size;
    const truncatedBytes = await repairTail(fh, before, options?.fullSync === true);
    return { existed: true, bytes: before - truncatedBytes, truncatedBytes, segments };
  } catch (e) {
    throw LogIOError.from('repair', full, e);
  } finally {
    await fh?.close().catch(() => undefined);
  }
}
