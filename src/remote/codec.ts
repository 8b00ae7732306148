/**
 * The wire codec of remote channels: a compact tagged binary format for
 * structured values.
 *
 * Carries: `undefined`, `null`, booleans, numbers (including NaN, ±Infinity
 * and -0), bigint, strings, Date, arrays, plain objects, Map, Set,
 * Uint8Array (and Node Buffers, which arrive as Uint8Array), ArrayBuffer,
 * the other typed arrays and DataView, Error (name and message), and weft
 * Senders/Receivers (through the handle hooks of the link: see
 * `transport.ts`).
 *
 * Refuses, with {@link EncodeError}: functions, symbols, class instances
 * other than the types above, cycles, and nesting deeper than 256 levels.
 * Shared sub-objects are copied (a DAG arrives as a tree).
 *
 * Decoding is a bounds-checked walk over the bytes that builds plain data; it
 * never evaluates code, never sets prototypes (a `"__proto__"` key becomes an
 * own property), and reports any malformed input as a {@link CodecFailure}.
 *
 * Layout: magic byte 0xE7, version 1, flags, the value, then (when flag 1 is
 * set) the handle table: a count and one descriptor string per handle.
 *
 * @internal
 */
import { Buffer } from 'node:buffer';
import { Receiver } from '../channel/receiver.js';
import { Sender } from '../channel/sender.js';
import { EncodeError } from './errors.js';

const MAGIC = 0xe7;
const VERSION = 1;
const FLAG_HANDLES = 1;
const MAX_DEPTH = 256;

const T_UNDEFINED = 0x00;
const T_NULL = 0x01;
const T_FALSE = 0x02;
const T_TRUE = 0x03;
const T_INT = 0x04;
const T_FLOAT = 0x05;
const T_STRING = 0x06;
const T_BIGINT = 0x07;
const T_DATE = 0x08;
const T_ARRAY = 0x09;
const T_OBJECT = 0x0a;
const T_MAP = 0x0b;
const T_SET = 0x0c;
const T_BYTES = 0x0d;
const T_ARRAYBUFFER = 0x0e;
const T_TYPED = 0x0f;
const T_HANDLE = 0x10;
const T_ERROR = 0x11;

/** The typed-array kinds, by tag byte. */
const TYPED: ReadonlyArray<{ name: string; make: (b: ArrayBuffer) => ArrayBufferView }> = [
  { name: 'Int8Array', make: (b) => new Int8Array(b) },
  { name: 'Uint8ClampedArray', make: (b) => new Uint8ClampedArray(b) },
  { name: 'Int16Array', make: (b) => new Int16Array(b) },
  { name: 'Uint16Array', make: (b) => new Uint16Array(b) },
  { name: 'Int32Array', make: (b) => new Int32Array(b) },
  { name: 'Uint32Array', make: (b) => new Uint32Array(b) },
  { name: 'Float32Array', make: (b) => new Float32Array(b) },
  { name: 'Float64Array', make: (b) => new Float64Array(b) },
  { name: 'BigInt64Array', make: (b) => new BigInt64Array(b) },
  { name: 'BigUint64Array', make: (b) => new BigUint64Array(b) },
  { name: 'DataView', make: (b) => new DataView(b) },
];
const ELEMENT_SIZE: Record<string, number> = {
  Int8Array: 1, Uint8ClampedArray: 1, Int16Array: 2, Uint16Array: 2, Int32Array: 4, Uint32Array: 4,
  Float32Array: 4, Float64Array: 8, BigInt64Array: 8, BigUint64Array: 8, DataView: 1,
};
const TYPED_INDEX = new Map(TYPED.map((t, i) => [t.name, i]));

/** A weft handle met while encoding: a Sender or Receiver. */
export type AnyHandle = Sender<unknown> | Receiver<unknown>;

/**
 * How handles inside values cross the wire. `exportHandles` is called once
 * per encoded message that carries handles, after the rest of the value
 * encoded fine; `unexport` undoes it when the message is refused after all.
 */
export interface HandleHooks {
  exportHandles(handles: AnyHandle[]): string[];
  unexport(descriptors: string[]): void;
  importHandle(descriptor: string): AnyHandle;
}

/** A malformed message. */
export class CodecFailure extends Error {}

class Writer {
  buf: Buffer = Buffer.allocUnsafe(1024);
  pos = 0;
  readonly handles: AnyHandle[] = [];
  readonly ancestors = new Set<object>();
  depth = 0;
  path: (string | number)[] = [];

  reset(): void {
    this.pos = 0;
    this.handles.length = 0;
    if (this.ancestors.size > 0) this.ancestors.clear(); // clear() allocates, even when empty
    this.depth = 0;
    this.path.length = 0;
    if (this.buf.length > 1 << 20) this.buf = Buffer.allocUnsafe(1024);
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }

  varint(n: number): void {
    this.ensure(10);
    while (n >= 0x80) {
      this.buf[this.pos++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.buf[this.pos++] = n;
  }

  float(n: number): void {
    this.ensure(8);
    this.buf.writeDoubleLE(n, this.pos);
    this.pos += 8;
  }

  string(s: string): void {
    const n = s.length;
    if (n < 64) {
      // short strings: try ASCII in place
      this.ensure(n + 1);
      const start = this.pos;
      this.buf[this.pos++] = n;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        this.buf[this.pos++] = c;
      }
      if (i === n) return;
      this.pos = start;
    }
    const len = Buffer.byteLength(s, 'utf8');
    this.varint(len);
    this.ensure(len);
    this.buf.write(s, this.pos, len, 'utf8');
    this.pos += len;
  }

  raw(bytes: Uint8Array): void {
    this.varint(bytes.byteLength);
    this.ensure(bytes.byteLength);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.byteLength;
  }
}

function pathString(path: (string | number)[]): string {
  let s = '$';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : /^[A-Za-z_$][\w$]*$/.test(p) ? `.${p}` : `[${JSON.stringify(p)}]`;
  return s;
}

let shared: Writer | null = new Writer();

function fail(w: Writer, root: unknown, kind: 'unsupported' | 'cyclic' | 'too-deep', message: string): never {
  throw new EncodeError(kind, `${message} at ${pathString(w.path)}`, root, pathString(w.path));
}

function writeValue(w: Writer, v: unknown, root: unknown): void {
  switch (typeof v) {
    case 'undefined':
      return w.byte(T_UNDEFINED);
    case 'boolean':
      return w.byte(v ? T_TRUE : T_FALSE);
    case 'number':
      if (Number.isInteger(v) && v >= -0x80000000 && v <= 0x7fffffff && !Object.is(v, -0)) {
        w.byte(T_INT);
        return w.varint(v >= 0 ? v * 2 : -v * 2 - 1);
      }
      w.byte(T_FLOAT);
      return w.float(v);
    case 'string':
      w.byte(T_STRING);
      return w.string(v);
    case 'bigint': {
      w.byte(T_BIGINT);
      const neg = v < 0n;
      let m = neg ? -v : v;
      const bytes: number[] = [];
      while (m > 0n) {
        bytes.push(Number(m & 0xffn));
        m >>= 8n;
      }
      w.byte(neg ? 1 : 0);
      return w.raw(Uint8Array.from(bytes));
    }
    case 'symbol':
      return fail(w, root, 'unsupported', 'a symbol cannot be sent');
    case 'function':
      return fail(w, root, 'unsupported', `a function (${v.name || 'anonymous'}) cannot be sent`);
    case 'object':
      break;
  }
  if (v === null) return w.byte(T_NULL);
  const o = v as object;
  if (o instanceof Sender || o instanceof Receiver) {
    if (o.closed) fail(w, root, 'unsupported', `a closed ${o instanceof Sender ? 'Sender' : 'Receiver'} cannot be sent`);
    w.byte(T_HANDLE);
    w.varint(w.handles.length);
    w.handles.push(o);
    return;
  }
  if (o instanceof Date) {
    w.byte(T_DATE);
    return w.float(o.getTime());
  }
  if (o instanceof Uint8Array && (o.constructor === Uint8Array || o.constructor === Buffer)) {
    w.byte(T_BYTES);
    return w.raw(o);
  }
  if (o instanceof ArrayBuffer) {
    w.byte(T_ARRAYBUFFER);
    return w.raw(new Uint8Array(o));
  }
  if (ArrayBuffer.isView(o)) {
    const kind = TYPED_INDEX.get(o.constructor.name);
    if (kind === undefined || !(o.buffer instanceof ArrayBuffer)) return fail(w, root, 'unsupported', `a ${o.constructor.name} cannot be sent`);
    w.byte(T_TYPED);
    w.byte(kind);
    return w.raw(new Uint8Array(o.buffer, o.byteOffset, o.byteLength));
  }
  if (w.ancestors.has(o)) return fail(w, root, 'cyclic', 'a cycle (a value that contains itself) cannot be sent');
  if (++w.depth > MAX_DEPTH) return fail(w, root, 'too-deep', `values nested deeper than ${MAX_DEPTH} levels cannot be sent`);
  w.ancestors.add(o);
  if (Array.isArray(o)) {
    w.byte(T_ARRAY);
    const n = o.length;
    w.varint(n);
    for (let i = 0; i < n; i++) {
      w.path.push(i);
      writeValue(w, o[i], root);
      w.path.pop();
    }
  } else if (o instanceof Map) {
    w.byte(T_MAP);
    w.varint(o.size);
    let i = 0;
    for (const [k, val] of o) {
      w.path.push(`<map key ${i}>`);
      writeValue(w, k, root);
      w.path.pop();
      w.path.push(`<map value ${i++}>`);
      writeValue(w, val, root);
      w.path.pop();
    }
  } else if (o instanceof Set) {
    w.byte(T_SET);
    w.varint(o.size);
    let i = 0;
    for (const item of o) {
      w.path.push(`<set item ${i++}>`);
      writeValue(w, item, root);
      w.path.pop();
    }
  } else if (o instanceof Error) {
    w.byte(T_ERROR);
    w.string(o.name);
    w.string(o.message);
  } else {
    const proto: unknown = Object.getPrototypeOf(o);
    if (proto !== Object.prototype && proto !== null) {
      const name = (o.constructor as { name?: string } | undefined)?.name ?? 'unknown';
      fail(w, root, 'unsupported', `an instance of class ${name} cannot be sent (only plain objects, arrays, Map, Set, Date, byte arrays, Error, bigint and primitives)`);
    }
    const keys = Object.keys(o);
    w.byte(T_OBJECT);
    w.varint(keys.length);
    for (const k of keys) {
      w.string(k);
      w.path.push(k);
      writeValue(w, (o as Record<string, unknown>)[k], root);
      w.path.pop();
    }
  }
  w.ancestors.delete(o);
  w.depth--;
}

/**
 * Encodes `value`. Throws {@link EncodeError} for an unsupported value, or
 * when the encoding is longer than `maxBytes` (then no handle stays
 * exported).
 */
export function encode(value: unknown, hooks: HandleHooks | undefined, maxBytes: number): Uint8Array {
  const w = shared ?? new Writer();
  shared = null; // re-entrancy (an export hook that encodes) gets its own writer
  try {
    w.reset();
    w.ensure(3);
    w.buf[0] = MAGIC;
    w.buf[1] = VERSION;
    w.buf[2] = 0;
    w.pos = 3;
    writeValue(w, value, value);
    if (w.pos > maxBytes) throw tooLarge(value, w.pos, maxBytes);
    let descriptors: string[] | undefined;
    if (w.handles.length > 0) {
      if (hooks === undefined) throw new EncodeError('unsupported', 'a Sender or Receiver can only travel inside a message on a remote channel', value);
      descriptors = hooks.exportHandles(w.handles.slice());
      w.buf[2] = FLAG_HANDLES;
      w.varint(descriptors.length);
      for (const d of descriptors) w.string(d);
      if (w.pos > maxBytes) {
        hooks.unexport(descriptors);
        throw tooLarge(value, w.pos, maxBytes);
      }
    }
    // a plain Uint8Array copy (no Buffer made on the way)
    return new Uint8Array(w.buf.buffer, w.buf.byteOffset, w.pos).slice();
  } finally {
    w.reset();
    shared = w;
  }
}

function tooLarge(value: unknown, size: number, max: number): EncodeError {
  return new EncodeError('too-large', `its encoding takes ${size} bytes, more than the maximum message size of ${max} bytes`, value);
}

// shared by every Reader without handles: readonly, so none can push into it
const NO_HANDLES: readonly AnyHandle[] = [];

class Reader {
  pos = 3;
  depth = 0;
  // made on first use: most small messages need neither
  private viewOf: DataView | null = null;
  private bufOf: Buffer | null = null;
  handles: readonly AnyHandle[] = NO_HANDLES;
  constructor(readonly bytes: Uint8Array) {}
  get view(): DataView {
    return (this.viewOf ??= new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength));
  }
  get buf(): Buffer {
    return (this.bufOf ??= Buffer.from(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength));
  }
  need(n: number): void {
    if (n < 0 || this.pos + n > this.bytes.length) throw new CodecFailure(`truncated message (needs ${n} more bytes at offset ${this.pos})`);
  }
  /** Advances past `n` bytes (already checked by `length`). */
  skip(n: number): void {
    this.pos += n;
  }
  byte(): number {
    this.need(1);
    return this.bytes[this.pos++]!;
  }
  varint(): number {
    let n = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.byte();
      n += (b & 0x7f) * mul;
      if (b < 0x80) return n;
      mul *= 0x80;
    }
    throw new CodecFailure('malformed length');
  }
  /** A length that must fit in the remaining bytes (at `unit` bytes per element). */
  length(unit: number): number {
    const n = this.varint();
    if (n * unit > this.bytes.length - this.pos) throw new CodecFailure(`length ${n} exceeds the message`);
    return n;
  }
  float(): number {
    this.need(8);
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }
  string(): string {
    const n = this.length(1);
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  rawCopy(): Uint8Array {
    const n = this.length(1);
    const out = new Uint8Array(n);
    out.set(this.bytes.subarray(this.pos, this.pos + n));
    this.pos += n;
    return out;
  }
}

function readValue(r: Reader): unknown {
  const tag = r.byte();
  switch (tag) {
    case T_UNDEFINED:
      return undefined;
    case T_NULL:
      return null;
    case T_FALSE:
      return false;
    case T_TRUE:
      return true;
    case T_INT: {
      const z = r.varint();
      if (z > 0xffffffff) throw new CodecFailure('integer out of range');
      return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
    }
    case T_FLOAT:
      return r.float();
    case T_STRING:
      return r.string();
    case T_BIGINT: {
      const sign = r.byte();
      if (sign > 1) throw new CodecFailure('malformed bigint');
      const bytes = r.rawCopy();
      let m = 0n;
      for (let i = bytes.length - 1; i >= 0; i--) m = (m << 8n) | BigInt(bytes[i]!);
      return sign === 1 ? -m : m;
    }
    case T_DATE:
      return new Date(r.float());
    case T_BYTES:
      return r.rawCopy();
    case T_ARRAYBUFFER:
      return r.rawCopy().buffer as ArrayBuffer;
    case T_TYPED: {
      const kind = TYPED[r.byte()];
      if (kind === undefined) throw new CodecFailure('unknown typed array kind');
      const bytes = r.rawCopy();
      if (bytes.byteLength % ELEMENT_SIZE[kind.name]! !== 0) throw new CodecFailure(`malformed ${kind.name}`);
      return kind.make(bytes.buffer as ArrayBuffer);
    }
    case T_HANDLE: {
      const i = r.varint();
      const h = r.handles[i];
      if (h === undefined) throw new CodecFailure('unknown handle reference');
      return h;
    }
    case T_ERROR: {
      const name = r.string();
      const message = r.string();
      const e = new Error(message);
      if (name !== 'Error') Object.defineProperty(e, 'name', { value: name, writable: true, configurable: true, enumerable: false });
      return e;
    }
  }
  if (++r.depth > MAX_DEPTH) throw new CodecFailure('nested too deeply');
  let out: unknown;
  switch (tag) {
    case T_ARRAY: {
      const n = r.length(1);
      const a = new Array<unknown>(n);
      for (let i = 0; i < n; i++) a[i] = readValue(r);
      out = a;
      break;
    }
    case T_OBJECT: {
      const n = r.length(2);
      const o: Record<string, unknown> = {};
      for (let i = 0; i < n; i++) {
        const k = r.string();
        const v = readValue(r);
        if (k === '__proto__') Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
        else o[k] = v;
      }
      out = o;
      break;
    }
    case T_MAP: {
      const n = r.length(2);
      const m = new Map<unknown, unknown>();
      for (let i = 0; i < n; i++) {
        const k = readValue(r);
        m.set(k, readValue(r));
      }
      out = m;
      break;
    }
    case T_SET: {
      const n = r.length(1);
      const s = new Set<unknown>();
      for (let i = 0; i < n; i++) s.add(readValue(r));
      out = s;
      break;
    }
    default:
      throw new CodecFailure(`unknown type tag 0x${tag.toString(16)} at offset ${r.pos - 1}`);
  }
  r.depth--;
  return out;
}

/** Skips over one value without building it (used to find the handle table). */
function skipValue(r: Reader): void {
  const tag = r.byte();
  switch (tag) {
    case T_UNDEFINED:
    case T_NULL:
    case T_FALSE:
    case T_TRUE:
      return;
    case T_INT:
    case T_HANDLE:
      r.varint();
      return;
    case T_FLOAT:
    case T_DATE:
      r.need(8);
      r.pos += 8;
      return;
    case T_STRING:
    case T_BYTES:
    case T_ARRAYBUFFER:
      r.skip(r.length(1));
      return;
    case T_BIGINT:
      r.byte();
      r.skip(r.length(1));
      return;
    case T_TYPED:
      r.byte();
      r.skip(r.length(1));
      return;
    case T_ERROR:
      r.skip(r.length(1));
      r.skip(r.length(1));
      return;
  }
  if (++r.depth > MAX_DEPTH) throw new CodecFailure('nested too deeply');
  switch (tag) {
    case T_ARRAY:
    case T_SET: {
      const n = r.length(1);
      for (let i = 0; i < n; i++) skipValue(r);
      break;
    }
    case T_OBJECT: {
      const n = r.length(2);
      for (let i = 0; i < n; i++) {
        r.skip(r.length(1));
        skipValue(r);
      }
      break;
    }
    case T_MAP: {
      const n = r.length(2);
      for (let i = 0; i < 2 * n; i++) skipValue(r);
      break;
    }
    default:
      throw new CodecFailure(`unknown type tag 0x${tag.toString(16)} at offset ${r.pos - 1}`);
  }
  r.depth--;
}

/**
 * The handle descriptors a message carries (without building its value), so
 * that a message that is dropped unread can release them.
 */
export function handleDescriptors(bytes: Uint8Array): string[] {
  if (bytes.length < 3 || bytes[0] !== MAGIC || bytes[1] !== VERSION || (bytes[2]! & FLAG_HANDLES) === 0) return [];
  const r = new Reader(bytes);
  skipValue(r);
  const n = r.length(1);
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(r.string());
  return out;
}

/** Decodes a message. Throws {@link CodecFailure} for malformed input. */
export function decode(bytes: Uint8Array, hooks: HandleHooks | undefined): unknown {
  if (bytes.length < 4) throw new CodecFailure(bytes.length === 0 ? 'empty message' : 'message too short');
  if (bytes[0] !== MAGIC) throw new CodecFailure('not a weft message (bad magic byte)');
  if (bytes[1] !== VERSION) throw new CodecFailure(`unsupported weft codec version ${bytes[1]}`);
  const flags = bytes[2]!;
  if ((flags & ~FLAG_HANDLES) !== 0) throw new CodecFailure('unknown flags');
  const r = new Reader(bytes);
  if ((flags & FLAG_HANDLES) !== 0) {
    skipValue(r);
    const n = r.length(1);
    const descriptors: string[] = [];
    for (let i = 0; i < n; i++) descriptors.push(r.string());
    if (r.pos !== bytes.length) throw new CodecFailure('trailing bytes');
    if (hooks === undefined) throw new CodecFailure('the message carries handles, which this receiver cannot import');
    // The value was walked once (skipValue) before anything is imported: garbage imports nothing.
    r.handles = descriptors.map((d) => hooks.importHandle(d));
    r.pos = 3;
    r.depth = 0;
    return readValue(r);
  }
  const v = readValue(r);
  if (r.pos !== bytes.length) throw new CodecFailure('trailing bytes');
  return v;
}
