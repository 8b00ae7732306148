/**
 * Value codec for weft's cross-thread channels.
 *
 * A message crossing threads through a shared-memory ring is turned into bytes
 * by an {@link Encoder} and back into a value by {@link decode} (or a
 * {@link Decoder}). The result always equals what `structuredClone(value)`
 * would give, and the codec refuses exactly the values structured clone
 * refuses, with an {@link UnserializableValueError} that names the offending
 * path.
 *
 * Layout: every message starts with a one-byte tag that says how to read the
 * rest. Common values (primitives, plain objects, dense arrays, typed arrays,
 * `ArrayBuffer`, `Date`) are written by hand-rolled code into a reused scratch
 * buffer: no JSON, no output buffer allocated per call. Anything else
 * (`Map`, `Set`, `RegExp`, `Error`, boxed primitives, class instances, sparse
 * arrays, cycles and shared references, ...) is handed whole to the platform's
 * structured serializer (Node: `node:v8`) under the {@link CodecPlatform}
 * hook, so its semantics are structured clone's own.
 *
 * Speed comes from doing what V8 does fastest: plain objects are walked
 * with `for-in` (no key list allocated), short strings are copied byte by
 * byte in both directions (no TextEncoder/TextDecoder call for them), decoded
 * object keys come from a cache of internalized strings, and the first
 * properties of a decoded object are stored from one line of code each, so
 * that a stream of same-shaped messages gets monomorphic stores.
 *
 * Exactness has a price on the fast path, paid by default: every object is
 * checked for being a Proxy (structured clone refuses those; ~13 ns here),
 * every array for named properties (`Object.keys`: ~70 ns plus ~10 ns an
 * element here, the largest cost of encoding a small array; structured clone
 * copies a RegExp match's `index`), and a repeated object sends the whole
 * value to the fallback so shared references and cycles keep their shape.
 * The first two can be turned off (`exact: false`) where the data is known
 * to be plain.
 *
 * Known differences from structured clone: a typed array or DataView arrives
 * with a buffer holding just its bytes (structured clone copies the whole
 * underlying buffer and keeps the offset); a value the fast path gives up on
 * halfway is read again by the fallback, so its getters run twice; shared
 * memory, WebAssembly modules and Node host objects (`Blob`, ...) are refused.
 *
 * The bytes are a same-process format (native byte order, no versioning): they
 * are meant for threads of one process, not for disk or network.
 *
 * @module
 */

import { Buffer } from 'node:buffer';
import { Deserializer, Serializer } from 'node:v8';
import { types } from 'node:util';

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/**
 * Thrown by {@link Encoder.encode} when the value holds something structured
 * clone refuses: a function, a symbol, a `WeakMap`, a `Promise`, a `Proxy`, a
 * detached `ArrayBuffer`, ... `path` says where (`value.user.callback`).
 *
 * Also thrown for the few things structured clone accepts but bytes cannot
 * carry (`SharedArrayBuffer`, `WebAssembly.Module`, Node host objects such as
 * `Blob`): those must travel by `postMessage`.
 *
 * @example
 * ```ts
 * try { new Encoder().encode({ user: { callback: () => 1 } }); }
 * catch (e) { if (e instanceof UnserializableValueError) console.log(e.path); } // value.user.callback
 * ```
 */
export class UnserializableValueError extends TypeError {
  /** Where the refused part lies, written as an expression on `value`. */
  readonly path: string;

  constructor(path: string, what: string, advice: string, cause?: unknown) {
    super(`${path} is ${what}: ${advice}`, cause === undefined ? undefined : { cause });
    this.path = path;
  }

  override get name(): string {
    return 'UnserializableValueError';
  }
}

/**
 * Thrown by {@link Encoder.encode} when the encoded value is longer than the
 * encoder's `maxBytes`.
 *
 * @example
 * ```ts
 * try { new Encoder({ maxBytes: 16 }).encode({ body: 'x'.repeat(100) }); }
 * catch (e) { if (e instanceof MessageTooLargeError) console.log(e.size, e.limit, e.atLeast); } // 109 16 true
 * ```
 */
export class MessageTooLargeError extends RangeError {
  /**
   * Encoded size of the refused value, in bytes; a lower bound when `atLeast`
   * (the encoder stops early rather than build a huge message it will refuse).
   */
  readonly size: number;
  /** The encoder's `maxBytes`. */
  readonly limit: number;
  /** True when `size` is a lower bound. */
  readonly atLeast: boolean;

  constructor(size: number, limit: number, atLeast = false) {
    super(`message is ${atLeast ? 'at least ' : ''}${size} bytes, more than the limit of ${limit} bytes; send smaller values or raise maxBytes`);
    this.size = size;
    this.limit = limit;
    this.atLeast = atLeast;
  }

  override get name(): string {
    return 'MessageTooLargeError';
  }
}

// ---------------------------------------------------------------------------
// Platform hook: the structured-clone fallback
// ---------------------------------------------------------------------------

/**
 * What the codec needs from the platform beyond plain JavaScript. Node's is the
 * default; a browser build swaps it with {@link setCodecPlatform}.
 *
 * @example
 * ```ts
 * setCodecPlatform({
 *   serialize: (v) => myStructuredSerialize(v), // throws on unclonable values
 *   deserialize: (bytes) => myStructuredDeserialize(bytes),
 *   isProxy: () => false, // browsers cannot tell; proxies then encode as their contents
 *   allocate: (n) => new ArrayBuffer(n),
 * });
 * ```
 */
export interface CodecPlatform {
  /** Serializes any structured-clonable value; throws on anything else. */
  serialize(value: unknown): Uint8Array;
  /** Inverse of `serialize`. `bytes` may lie on a SharedArrayBuffer and is only valid during the call. */
  deserialize(bytes: Uint8Array): unknown;
  /** True for a Proxy, which structured clone refuses but plain JS cannot see through. */
  isProxy(value: object): boolean;
  /** A new ArrayBuffer of exactly `byteLength` bytes; need not be zeroed (the codec fills it). */
  allocate(byteLength: number): ArrayBuffer;
}

/**
 * Node's platform: `v8.Serializer`/`v8.Deserializer`, the serializer behind
 * `structuredClone`. The plain classes are used on purpose, not
 * `v8.serialize` (whose DefaultSerializer writes typed arrays as host objects,
 * copying only the view and losing buffer sharing): V8's native handling
 * keeps structured clone's exact semantics.
 */
export const nodeCodecPlatform: CodecPlatform = {
  serialize(value) {
    const s = new Serializer();
    s.writeHeader();
    s.writeValue(value);
    return s.releaseBuffer();
  },
  deserialize(bytes) {
    const d = new Deserializer(bytes);
    d.readHeader();
    return d.readValue();
  },
  isProxy: types.isProxy,
  // Node can skip zero-filling (a 64 KiB `new ArrayBuffer` costs 5–15 µs here, this ~1 µs).
  allocate: (byteLength) => Buffer.allocUnsafeSlow(byteLength).buffer as ArrayBuffer,
};

let platform: CodecPlatform = nodeCodecPlatform;

/**
 * Replaces the platform hook for the whole module (both ends of a channel must
 * use compatible ones).
 *
 * @example
 * ```ts
 * setCodecPlatform(nodeCodecPlatform); // the default
 * ```
 */
export function setCodecPlatform(p: CodecPlatform): void {
  platform = p;
}

// ---------------------------------------------------------------------------
// Format
// ---------------------------------------------------------------------------

// Tags: the first byte of every value.
const T_UNDEFINED = 0;
const T_NULL = 1;
const T_FALSE = 2;
const T_TRUE = 3;
const T_INT8 = 4; // 1 byte, two's complement
const T_INT32 = 5; // 4 bytes LE
const T_FLOAT64 = 6; // 8 bytes LE (also -0, NaN, ints beyond int32)
const T_STRING = 7; // string header, then bytes (see Encoder.str)
const T_BIGINT64 = 8; // 8 bytes LE, signed
const T_BIGINT = 9; // sign byte, varint byte count, magnitude LE in 8-byte words
const T_OBJECT = 10; // varint count, then (string header + bytes, value) pairs
const T_ARRAY = 11; // varint length, then values
const T_DATE = 12; // float64 time value
const T_VIEW = 13; // kind byte, varint byte length, bytes (native order)
const T_ARRAYBUFFER = 14; // varint byte length, bytes
const T_FALLBACK = 15; // the rest of the message is the platform serializer's output
const T_HOST = 16; // varint index: an object the host hook encoded by reference (weft handles)

// View kinds (T_VIEW), in the order of this table.
const VIEW_CTORS = [
  Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array,
  Uint32Array, Float32Array, Float64Array, BigInt64Array, BigUint64Array,
] as const;
const VIEW_KIND = new Map<string, number>(VIEW_CTORS.map((c, i) => [c.name, i]));
const KIND_DATAVIEW = VIEW_CTORS.length;
const KIND_UINT8 = VIEW_KIND.get('Uint8Array')!;
/** %TypedArray%.prototype[@@toStringTag]: the base type name, even for Buffer and subclasses. */
const typedArrayName = Object.getOwnPropertyDescriptor(
  Object.getPrototypeOf(Uint8Array.prototype) as object,
  Symbol.toStringTag,
)!.get! as (this: ArrayBufferView) => string | undefined;
const dateTime = Date.prototype.getTime;
const hasOwn = Object.hasOwn as (o: object, key: PropertyKey) => boolean;
const OBJECT_PROTO: object = Object.prototype;

/** Whether `Object.prototype` has an enumerable property, which `for-in` over a plain object would also yield. */
function objectProtoEnumerable(): boolean {
  for (const _ in OBJECT_PROTO) return true;
  return false;
}

/** Nesting deeper than this goes to the platform serializer (keeps our recursion off the stack limit). */
const MAX_DEPTH = 200;
/** Containers tracked in a linear list before switching to a Set. */
const SEEN_LINEAR = 16;
/**
 * Strings shorter than this are written by a JS loop; longer well-formed ones
 * by TextEncoder.encodeInto (measured here: the loop ~1–3 ns a unit,
 * encodeInto ~200 ns flat). Below it an ASCII string's header is one byte.
 */
const SHORT_STRING = 48;
/** Strings of at most this many bytes are tried as ASCII with one fixed-arity fromCharCode. */
const ASCII_FIXED = 16;
/** Strings with more bytes than this use TextDecoder (when well-formed). */
const TEXT_DECODER_MIN = 32;
/** Decoded typed arrays and ArrayBuffers of at least this many bytes use platform.allocate. */
const ALLOCATE_MIN = 1024;
const DEFAULT_CAPACITY = 256;
/** Decoded arrays up to this length are allocated at their length. */
const PREALLOCATE_MAX = 1024;
/** Scratch buffers above this shrink back after a run of small messages. */
const SHRINK_ABOVE = 64 * 1024;
const SHRINK_AFTER = 32;

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
const fromCharCode = String.fromCharCode;

// ES2024 members the project's lib setting (ES2023) does not declare; Node 20 has them.
const isWellFormed = (s: string): boolean => (s as string & { isWellFormed(): boolean }).isWellFormed();
const isResizable = (b: ArrayBuffer): boolean => (b as ArrayBuffer & { resizable?: boolean }).resizable === true;

function varintSize(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5 + (n >= 2 ** 35 ? 1 : 0);
}

// ---------------------------------------------------------------------------
// Encoder
// ---------------------------------------------------------------------------

/** Options of {@link Encoder}. */
export interface EncoderOptions {
  /** Largest encoded message accepted, in bytes; larger ones throw {@link MessageTooLargeError}. Default: no limit. */
  maxBytes?: number;
  /** Initial scratch size in bytes (it grows as needed). Default 256. */
  initialCapacity?: number;
  /**
   * Default true: the decoded value equals `structuredClone(value)` for every
   * value. false skips the two checks only rare values need, which cost about
   * a quarter of a small object's round trip: a Proxy is then encoded as the
   * data it shows instead of being refused, and named properties of arrays
   * (a RegExp match's `index`) are dropped.
   */
  exact?: boolean;
  /** Objects the host encodes by reference (weft's shared-channel handles); see {@link HostHooks}. */
  host?: HostHooks;
  /**
   * Bytes of typed arrays, DataViews and ArrayBuffers at least this long are
   * not copied into the scratch: the encoder remembers them, and
   * {@link Encoder.writeTo} copies them straight to the message's
   * destination (one copy instead of two). While a message holds such
   * payloads ({@link Encoder.external} > 0), `bytes` is not the whole
   * message: use `writeTo`. Default: Infinity (always copied).
   */
  byReference?: number;
}

/**
 * A hook for objects that travel by reference instead of by value (the
 * shared layer uses it for Sender/Receiver handles inside messages). Asked
 * about every object on the fast path that is not an array, a plain object
 * or a null-prototype object (those cannot be class instances); an object
 * it claims is written as a small index, and the decoder asks the hook for
 * the object behind that index. (Inside values that take the
 * structured-clone fallback, e.g. in a Map, the hook is not consulted.)
 */
export interface HostHooks {
  /** An index ≥ 0 if `v` is encoded by reference, else -1. May throw to refuse `v`. */
  encode(v: object): number;
  /** The object for an index returned by `encode` on the sending side. */
  decode(index: number): unknown;
}

/**
 * Turns values into bytes in a scratch buffer that is reused across calls.
 * One encoder per sending thread; not re-entrant.
 *
 * @example
 * ```ts
 * const enc = new Encoder({ maxBytes: 1 << 20 });
 * const n = enc.encode({ id: 123, name: 'alice', tags: ['a', 'b'] });
 * ring.write(enc.bytes.subarray(0, n)); // enc.bytes is valid until the next encode
 * ```
 */
export class Encoder {
  /** Largest encoded message accepted, in bytes. */
  readonly maxBytes: number;
  private buf: Uint8Array;
  private view: DataView;
  private pos = 0;
  private busy = false;
  private readonly initialCapacity: number;
  private smallRuns = 0;
  // Containers met in this call: a repeat means a cycle or a shared reference,
  // which only the platform serializer reproduces. Linear list first (typical
  // messages hold a handful of objects), a Set beyond SEEN_LINEAR.
  private readonly seen: unknown[] = new Array<unknown>(SEEN_LINEAR).fill(undefined);
  private seenCount = 0;
  private seenSet: Set<unknown> | null = null;
  private readonly host: HostHooks | undefined;
  private readonly exact: boolean;
  private readonly byRef: number;
  /** Payloads kept by reference in the last message: where each goes in the scratch (`extAt`) and its bytes. */
  private readonly extAt: number[] = [];
  private readonly extBytes: Uint8Array[] = [];
  /** Their total length (the message is `pos + extLen` bytes). */
  private extLen = 0;

  constructor(options: EncoderOptions = {}) {
    this.host = options.host;
    this.byRef = options.byReference ?? Infinity;
    this.exact = options.exact ?? true;
    const max = options.maxBytes ?? Infinity;
    if (!(max >= 1)) throw new RangeError(`maxBytes must be a positive number of bytes, got ${String(max)}`);
    this.maxBytes = max;
    this.initialCapacity = Math.max(16, Math.floor(options.initialCapacity ?? DEFAULT_CAPACITY));
    this.buf = new Uint8Array(this.initialCapacity);
    this.view = new DataView(this.buf.buffer);
  }

  /**
   * The scratch buffer; after `encode` returns `n`, the message is
   * `bytes.subarray(0, n)`. Valid until the next call to `encode`, which may
   * replace it with a bigger one: read it after each `encode`.
   */
  get bytes(): Uint8Array {
    return this.buf;
  }

  /**
   * Encodes `value` into {@link Encoder.bytes} and returns its length in bytes.
   *
   * @throws {UnserializableValueError} if structured clone would refuse `value`.
   * @throws {MessageTooLargeError} if the encoding is longer than `maxBytes`.
   * @example
   * ```ts
   * const enc = new Encoder();
   * const n = enc.encode(new Map([[1, 'one']]));
   * const copy = decode(enc.bytes, 0, n); // Map(1) { 1 => 'one' }
   * // Read `enc.bytes` after `encode`: it may be a new buffer once the scratch grew.
   * ```
   */
  encode(value: unknown): number {
    this.begin();
    this.busy = true;
    try {
      if (!this.value(value, 0)) this.fallback(value);
      return this.length();
    } finally {
      this.forget();
      this.busy = false;
    }
  }

  /**
   * {@link Encoder.encode} for a number, the most common message: nothing in
   * it can run user code, so none of the guarding a general value needs.
   *
   * @example
   * ```ts
   * const enc = new Encoder();
   * const n = enc.encodeNumber(42); // 2 bytes, read back by decode(enc.bytes, 0, n)
   * ```
   */
  encodeNumber(v: number): number {
    this.begin();
    this.number(v);
    return this.length();
  }

  /** Starts a message: refuses re-entry, empties the scratch. */
  private begin(): void {
    if (this.busy) throw new Error('Encoder.encode was called re-entrantly (from a getter of the value being encoded); use another Encoder');
    this.maybeShrink();
    this.pos = 0;
    if (this.extLen !== 0 || this.extAt.length !== 0) this.dropExternal();
  }

  /** The finished message's length, refused over `maxBytes`. */
  private length(): number {
    const n = this.pos + this.extLen;
    if (n > this.maxBytes) throw new MessageTooLargeError(n, this.maxBytes);
    return n;
  }

  /**
   * Payloads of the last message kept by reference (see
   * {@link EncoderOptions.byReference}); 0 when `bytes` holds it whole.
   */
  get external(): number {
    return this.extAt.length;
  }

  /**
   * Where in the last message the first payload kept by reference starts,
   * or -1: lets a caller place the message so that this payload lands on an
   * aligned address (copies to and from shared memory are much faster
   * aligned).
   */
  get externalOffset(): number {
    return this.extAt.length === 0 ? -1 : this.extAt[0]!;
  }

  /**
   * Writes the whole last message (`n` bytes, as `encode` returned) to `dst`
   * at `at`: the scratch bytes with the payloads kept by reference in place.
   *
   * @example
   * ```ts
   * const enc = new Encoder({ byReference: 4096 });
   * const n = enc.encode({ frame: new Uint8Array(1 << 20) });
   * const out = new Uint8Array(n);
   * enc.writeTo(out, 0); // the megabyte is copied once, straight into `out`
   * ```
   */
  writeTo(dst: Uint8Array, at: number): void {
    const buf = this.buf;
    let from = 0; // scratch position
    let to = at;
    for (let i = 0; i < this.extAt.length; i++) {
      const cut = this.extAt[i]! - (to - at - from); // the payload's scratch position
      if (cut > from) dst.set(buf.subarray(from, cut), to);
      to += cut - from;
      from = cut;
      const b = this.extBytes[i]!;
      dst.set(b, to);
      to += b.length;
    }
    if (this.pos > from) dst.set(buf.subarray(from, this.pos), to);
  }

  /** Drops the payloads kept by reference (a new message, or the fallback starting over). */
  private dropExternal(): void {
    this.extAt.length = 0;
    this.extBytes.length = 0;
    this.extLen = 0;
  }

  /** Keeps `b` by reference at the current position (a message offset) instead of copying it. */
  private external_(b: Uint8Array): void {
    this.extAt.push(this.pos + this.extLen);
    this.extBytes.push(b);
    this.extLen += b.length;
  }

  // Releases references to the value's objects so the encoder does not keep them alive.
  private forget(): void {
    const n = Math.min(this.seenCount, SEEN_LINEAR);
    for (let i = 0; i < n; i++) this.seen[i] = undefined;
    this.seenCount = 0;
    this.seenSet = null;
  }

  // A big message should not pin a big scratch buffer forever: shrink after a run of small ones.
  private maybeShrink(): void {
    if (this.buf.length <= SHRINK_ABOVE) return;
    if (this.pos * 4 > this.buf.length) this.smallRuns = 0;
    else if (++this.smallRuns >= SHRINK_AFTER) {
      this.smallRuns = 0;
      this.buf = new Uint8Array(Math.max(this.initialCapacity, SHRINK_ABOVE));
      this.view = new DataView(this.buf.buffer);
    }
  }

  /** Throws early if `n` more bytes (a lower bound of what is coming) cannot fit under maxBytes. */
  private limit(n: number): void {
    const at = this.pos + this.extLen;
    if (at + n > this.maxBytes) throw new MessageTooLargeError(at + n, this.maxBytes, true);
  }

  /** Makes room for `n` more bytes. */
  private need(n: number): void {
    if (this.pos + n > this.buf.length) this.grow(this.pos + n);
  }

  private grow(min: number): void {
    // Far past the limit already: stop before the scratch grows any further. Not
    // at maxBytes itself: should the fast path give up later, the fallback's
    // format can be up to ~2x smaller (Latin-1 text is 1 byte a char there).
    if (this.pos > 2 * this.maxBytes + 64) throw new MessageTooLargeError(this.pos, this.maxBytes, true);
    const next = new Uint8Array(Math.max(min, this.buf.length * 2));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  /** Records a container; false if it was already met (cycle or shared reference). */
  private enter(obj: object): boolean {
    const n = this.seenCount;
    if (n < SEEN_LINEAR) {
      const seen = this.seen;
      for (let i = 0; i < n; i++) if (seen[i] === obj) return false;
      seen[n] = obj;
    } else {
      let set = this.seenSet;
      if (set === null) set = this.seenSet = new Set(this.seen);
      if (set.has(obj)) return false;
      set.add(obj);
    }
    this.seenCount = n + 1;
    return true;
  }

  /** Writes any value; false means "not on the fast path" and the caller falls back. */
  private value(v: unknown, depth: number): boolean {
    switch (typeof v) {
      case 'number':
        this.number(v);
        return true;
      case 'string':
        this.taggedStr(v);
        return true;
      case 'boolean':
        this.need(1);
        this.buf[this.pos++] = v ? T_TRUE : T_FALSE;
        return true;
      case 'undefined':
        this.need(1);
        this.buf[this.pos++] = T_UNDEFINED;
        return true;
      case 'object':
        if (v === null) {
          this.need(1);
          this.buf[this.pos++] = T_NULL;
          return true;
        }
        return this.object(v, depth);
      case 'bigint':
        this.bigint(v);
        return true;
      default:
        return false; // function or symbol: the fallback reports it
    }
  }

  private number(v: number): void {
    this.need(9);
    const p = this.pos;
    // `(v | 0) === v` is true for -0, which only float64 keeps.
    if ((v | 0) === v && (v !== 0 || 1 / v > 0)) {
      if (v >= -128 && v <= 127) {
        this.buf[p] = T_INT8;
        this.buf[p + 1] = v;
        this.pos = p + 2;
      } else {
        this.buf[p] = T_INT32;
        this.view.setInt32(p + 1, v, true);
        this.pos = p + 5;
      }
    } else {
      this.buf[p] = T_FLOAT64;
      this.view.setFloat64(p + 1, v, true);
      this.pos = p + 9;
    }
  }

  private bigint(v: bigint): void {
    if (BigInt.asIntN(64, v) === v) {
      this.need(9);
      this.buf[this.pos] = T_BIGINT64;
      this.view.setBigInt64(this.pos + 1, v, true);
      this.pos += 9;
      return;
    }
    let mag = v < 0n ? -v : v;
    const words: bigint[] = [];
    for (; mag > 0n; mag >>= 64n) words.push(BigInt.asUintN(64, mag));
    const bytes = words.length * 8;
    this.need(2 + 5 + bytes);
    this.buf[this.pos++] = T_BIGINT;
    this.buf[this.pos++] = v < 0n ? 1 : 0;
    this.varint(bytes);
    for (const w of words) {
      this.view.setBigUint64(this.pos, w, true);
      this.pos += 8;
    }
  }

  /** LEB128 unsigned; caller has reserved the room (≤ 8 bytes). */
  private varint(n: number): void {
    const buf = this.buf;
    let p = this.pos;
    while (n >= 0x80) {
      buf[p++] = (n & 0x7f) | 0x80;
      n = Math.floor(n / 128); // not >>> 7: lengths may exceed 2^32 once doubled
    }
    buf[p++] = n;
    this.pos = p;
  }

  /** A string value: its tag, then {@link Encoder.str}. */
  private taggedStr(s: string): void {
    this.need(1);
    this.buf[this.pos++] = T_STRING;
    this.str(s);
  }

  /**
   * A string without tag: varint header `byteLength * 2 + wtf`, then UTF-8.
   * `wtf` = 1 when the string holds lone surrogates, written WTF-8 style (as
   * their 3-byte code unit) so they survive as structured clone keeps them;
   * TextDecoder would turn them into U+FFFD, so such strings decode by hand.
   */
  private str(s: string): void {
    const n = s.length;
    if (n < SHORT_STRING) {
      // Short: room for the worst case at once, a one-byte header, and ASCII
      // straight in; the first non-ASCII unit hands over to the general loop.
      const at = this.pos;
      if (at + n + 1 > this.maxBytes) this.limit(n + 1);
      if (at + n * 3 + 6 > this.buf.length) this.grow(at + n * 3 + 6);
      const buf = this.buf;
      let p = at + 1;
      for (let i = 0; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) return this.strTail(s, i, at, p, 1);
        buf[p++] = c;
      }
      buf[at] = n * 2;
      this.pos = p;
      return;
    }
    this.limit(n + 1); // at least a byte per unit, a header byte
    // Room for the worst case: 3 bytes per UTF-16 unit, plus the header.
    this.need(n * 3 + 6);
    const headAt = this.pos;
    const guess = varintSize(n * 2); // exact when ASCII (bytes === units)
    const start = headAt + guess;
    if (isWellFormed(s)) {
      // Native UTF-8 beats a JS byte loop from a few dozen units on (even for ASCII).
      const p = start + utf8Encoder.encodeInto(s, this.buf.subarray(start)).written;
      this.strHead(headAt, guess, p, 0);
    } else {
      this.strTail(s, 0, headAt, start, guess);
    }
  }

  /**
   * The rest of a string from unit `i`, written from byte `p`, by hand (UTF-8,
   * WTF-8 for lone surrogates); then its header at `headAt`, for which
   * `guess` bytes were left.
   */
  private strTail(s: string, i: number, headAt: number, p: number, guess: number): void {
    const r = encodeUtf16(s, i, this.buf, p);
    const wtf = r % 2;
    this.strHead(headAt, guess, (r - wtf) / 2, wtf);
  }

  /** Writes the header of the string whose bytes run from `headAt + guess` to `end`, moving them if the header is longer. */
  private strHead(headAt: number, guess: number, end: number, wtf: number): void {
    const start = headAt + guess;
    const bytes = end - start;
    const head = bytes * 2 + wtf;
    const size = varintSize(head);
    if (size !== guess) this.buf.copyWithin(headAt + size, start, end);
    this.pos = headAt;
    this.varint(head);
    this.pos = headAt + size + bytes;
  }

  private object(v: object, depth: number): boolean {
    if (depth > MAX_DEPTH || (this.exact && platform.isProxy(v))) return false;
    // Any real array (a subclass, another realm's) clones as a plain Array.
    if (Array.isArray(v)) return this.enter(v) && this.array(v, depth);
    const proto: unknown = Object.getPrototypeOf(v);
    // Exotic objects that look plain take the exact slow path: an `arguments`
    // object (own `callee`) or a module namespace (null prototype, own
    // @@toStringTag), both refused by structured clone. A genuine plain object
    // with such a key merely goes slow.
    // (`in` first: it is inlined, hasOwn is a call; own `callee` is what matters.)
    if (proto === OBJECT_PROTO) {
      return !('callee' in v && hasOwn(v, 'callee')) && this.enter(v) && this.plain(v as Record<string, unknown>, depth, true);
    }
    if (proto === null) return !hasOwn(v, Symbol.toStringTag) && this.enter(v) && this.plain(v as Record<string, unknown>, depth, false);
    // Only class instances can be the host's objects: plain objects and arrays
    // (most of every message) skip the question.
    if (this.host !== undefined) {
      const i = this.host.encode(v);
      if (i >= 0) {
        this.need(6);
        this.buf[this.pos++] = T_HOST;
        this.varint(i);
        return true;
      }
    }
    if (ArrayBuffer.isView(v)) return this.view_(v);
    if (proto === Date.prototype) {
      this.need(9);
      this.buf[this.pos] = T_DATE;
      this.view.setFloat64(this.pos + 1, dateTime.call(v), true);
      this.pos += 9;
      return true;
    }
    if (proto === ArrayBuffer.prototype) return this.arrayBuffer(v as ArrayBuffer);
    return false; // Map, Set, RegExp, Error, class instances, ...: the platform serializer
  }

  /**
   * A plain object: its own enumerable string keys in property order, which is
   * what structured clone copies. `for-in` walks them without allocating a key
   * list and reads each value by its slot; it would also yield inherited
   * enumerable keys, so when `Object.prototype` has any (someone added one)
   * the object goes through {@link Encoder.plainByKeys} instead. `for-in` also
   * skips a key a getter deleted on the way, as structured clone does.
   */
  private plain(o: Record<string, unknown>, depth: number, inherits: boolean): boolean {
    if (inherits && objectProtoEnumerable()) return this.plainByKeys(o, depth);
    this.need(2);
    this.buf[this.pos] = T_OBJECT;
    // The count is known at the end: one byte is reserved, widened if it must be.
    const countAt = this.pos + 1;
    this.pos += 2;
    let n = 0;
    for (const k in o) {
      this.str(k);
      if (!this.value(o[k], depth + 1)) return false;
      n++;
    }
    if (n < 0x80) this.buf[countAt] = n;
    else this.widenCount(countAt, n);
    return true;
  }

  /** Rewrites the one-byte count at `at` as the varint of `n`, moving what follows. */
  private widenCount(at: number, n: number): void {
    const extra = varintSize(n) - 1;
    this.need(extra);
    this.buf.copyWithin(at + 1 + extra, at + 1, this.pos);
    const end = this.pos + extra;
    this.pos = at;
    this.varint(n);
    this.pos = end;
  }

  /** {@link Encoder.plain} by an explicit own-key list, for when `for-in` would see inherited keys. */
  private plainByKeys(o: Record<string, unknown>, depth: number): boolean {
    const keys = Object.keys(o);
    const n = keys.length;
    this.need(6);
    this.buf[this.pos++] = T_OBJECT;
    this.varint(n);
    for (let i = 0; i < n; i++) {
      const k = keys[i];
      this.str(k);
      if (!this.value(o[k], depth + 1)) return false;
    }
    return true;
  }

  private array(a: unknown[], depth: number): boolean {
    const n = a.length;
    // Extra named properties (e.g. a RegExp match's `index`) are cloned by structured
    // clone; they show up as more keys than elements. Holes are caught below.
    if (this.exact && Object.keys(a).length > n) return false;
    this.need(6);
    this.buf[this.pos++] = T_ARRAY;
    this.varint(n);
    for (let i = 0; i < n; i++) {
      const e = a[i];
      if (e === undefined && !(i in a)) return false; // hole: sparse array
      if (!this.value(e, depth + 1)) return false;
    }
    return true;
  }

  /** Typed arrays and DataView: the view's bytes only (see decode's note). */
  private view_(v: ArrayBufferView): boolean {
    const buffer = v.buffer;
    // Shared memory cannot be copied into a message; a resizable buffer (and its
    // length-tracking views) must stay resizable; a detached buffer is refused.
    // The fallback handles (or refuses) all three exactly.
    if (!(buffer instanceof ArrayBuffer) || isResizable(buffer) || isDetached(buffer)) return false;
    if (!this.enter(buffer)) return false; // two views on one buffer share it after cloning
    const name = typedArrayName.call(v);
    const kind = name === undefined ? KIND_DATAVIEW : VIEW_KIND.get(name);
    if (kind === undefined) return false; // a view type this table does not know (e.g. Float16Array)
    const len = v.byteLength;
    this.limit(2 + len);
    this.need(len >= this.byRef ? 7 : 7 + len);
    this.buf[this.pos++] = T_VIEW;
    this.buf[this.pos++] = kind;
    this.varint(len);
    const bytes = v instanceof Uint8Array ? v : new Uint8Array(buffer, v.byteOffset, len);
    if (len >= this.byRef) {
      this.external_(bytes);
      return true;
    }
    this.buf.set(bytes, this.pos);
    this.pos += len;
    return true;
  }

  private arrayBuffer(b: ArrayBuffer): boolean {
    if (isResizable(b) || isDetached(b) || !this.enter(b)) return false;
    const len = b.byteLength;
    this.limit(2 + len);
    this.need(len >= this.byRef ? 6 : 6 + len);
    this.buf[this.pos++] = T_ARRAYBUFFER;
    this.varint(len);
    if (len >= this.byRef) {
      this.external_(new Uint8Array(b));
      return true;
    }
    this.buf.set(new Uint8Array(b), this.pos);
    this.pos += len;
    return true;
  }

  /** The whole value through the platform serializer; refusals become UnserializableValueError. */
  private fallback(value: unknown): void {
    let payload: Uint8Array;
    try {
      payload = platform.serialize(value);
    } catch (e) {
      throw refusal(value, e);
    }
    const size = 1 + payload.length;
    if (size > this.maxBytes) throw new MessageTooLargeError(size, this.maxBytes); // before growing the scratch
    this.pos = 0;
    this.dropExternal();
    this.need(size);
    this.buf[0] = T_FALLBACK;
    this.buf.set(payload, 1);
    this.pos = 1 + payload.length;
  }
}

/**
 * UTF-8 (WTF-8 for lone surrogates) from unit `i` of `s` into `buf` at `p`.
 * Returns `end * 2 + wtf`, packed to avoid an allocation.
 */
function encodeUtf16(s: string, i: number, buf: Uint8Array, p: number): number {
  const n = s.length;
  let wtf = 0;
  for (; i < n; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      buf[p++] = c;
    } else if (c < 0x800) {
      buf[p++] = 0xc0 | (c >> 6);
      buf[p++] = 0x80 | (c & 0x3f);
    } else {
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
        const d = s.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
          i++;
          buf[p++] = 0xf0 | (c >> 18);
          buf[p++] = 0x80 | ((c >> 12) & 0x3f);
          buf[p++] = 0x80 | ((c >> 6) & 0x3f);
          buf[p++] = 0x80 | (c & 0x3f);
          continue;
        }
      }
      if (c >= 0xd800 && c <= 0xdfff) wtf = 1; // lone surrogate
      buf[p++] = 0xe0 | (c >> 12);
      buf[p++] = 0x80 | ((c >> 6) & 0x3f);
      buf[p++] = 0x80 | (c & 0x3f);
    }
  }
  return p * 2 + wtf;
}

// ---------------------------------------------------------------------------
// Decoder
// ---------------------------------------------------------------------------

/** Exact-length arrays for String.fromCharCode.apply, by length (short strings). */
const unitArrays: number[][] = Array.from({ length: TEXT_DECODER_MIN + 1 }, (_, n) => new Array<number>(n).fill(0));
/** Decoded object keys by hash of their bytes (short ASCII keys only). Shared by all decoders. */
const KEY_CACHE_SIZE = 1024;
const KEY_CACHE_MAX_BYTES = 24;
const keyCache: string[] = new Array<string>(KEY_CACHE_SIZE).fill('\uffff'.repeat(KEY_CACHE_MAX_BYTES + 1));
/** The bytes of each cached key, KEY_CACHE_MAX_BYTES a slot. */
const keyBytes = new Uint8Array(KEY_CACHE_SIZE * KEY_CACHE_MAX_BYTES);
/** 1 where the cached key is the internalized string (done when it is met a second time). */
const keyInterned = new Uint8Array(KEY_CACHE_SIZE);
/** Scratch for non-ASCII short strings, before their unit count is known. */
const unitScratch: number[] = new Array<number>(TEXT_DECODER_MIN).fill(0);

/**
 * Turns bytes made by an {@link Encoder} back into a value. Keeps views on
 * the last buffer it read, so decoding from a ring allocates nothing beyond
 * the value itself.
 *
 * The decoded value owns its memory: typed arrays and strings are copied out
 * of `bytes`, which may be reused as soon as `decode` returns.
 *
 * @example
 * ```ts
 * const dec = new Decoder();
 * const msg = dec.decode(ring.bytes, start, length);
 * ```
 */
export class Decoder {
  // Typed-array accessors (buffer, byteOffset, byteLength) and view
  // constructors cost 20–80 ns each on Node 20, more than decoding a small
  // value: the caller's view, its offset and our views over its whole buffer
  // are cached, keyed by the view object (a ring passes the same one each time).
  private src: Uint8Array | null = null;
  private base = 0;
  private buffer: ArrayBufferLike | null = null;
  private u8: Uint8Array = new Uint8Array(0);
  private dv: DataView = new DataView(this.u8.buffer);
  private pos = 0;
  private end = 0;
  private readonly host: HostHooks | undefined;

  /** @param options.host resolves objects encoded by reference (see {@link HostHooks}). */
  constructor(options: { host?: HostHooks } = {}) {
    this.host = options.host;
  }

  /**
   * Decodes the message at `bytes[offset .. offset + length)`.
   *
   * Typed arrays come back with a buffer of exactly their bytes (structured
   * clone would copy the whole underlying buffer and keep the view's offset);
   * everything else equals `structuredClone` of the encoded value.
   *
   * The decoder keeps a reference to the last `bytes` (and its buffer) until
   * it is given another one.
   *
   * @throws {RangeError} if the bytes are not exactly one encoded message.
   * @example
   * ```ts
   * const enc = new Encoder();
   * const n = enc.encode([1, 'two', 3n]);
   * new Decoder().decode(enc.bytes, 0, n); // [1, 'two', 3n]
   * ```
   */
  decode(bytes: Uint8Array, offset = 0, length: number = bytes.length - offset): unknown {
    if (!(offset >= 0 && length >= 1 && offset + length <= bytes.length)) {
      throw new RangeError(`no message at offset ${offset}, length ${length} of ${bytes.length} bytes`);
    }
    // Again when the message lies past the views' end: the buffer grew.
    if (bytes !== this.src || this.base + offset + length > this.u8.length) this.adopt(bytes);
    const start = this.base + offset;
    const end = start + length;
    this.end = end;
    this.pos = start;
    let v: unknown;
    if (this.u8[start] === T_FALLBACK) {
      v = platform.deserialize(bytes.subarray(offset + 1, offset + length));
      this.pos = end;
    } else {
      v = this.value();
    }
    if (this.pos !== end) throw new RangeError(`malformed message: ${end - this.pos} bytes left over`);
    return v;
  }

  private adopt(bytes: Uint8Array): void {
    this.src = bytes;
    this.base = bytes.byteOffset;
    const buffer = bytes.buffer;
    const size = buffer.byteLength;
    if (buffer === this.buffer && size === this.u8.length) return;
    // Views over the whole buffer, so positions are absolute. Fixed-length
    // even on a growable buffer (made again once it grew): on Node 20 every
    // read through a length-tracking view is several times slower (a small
    // object decoded in ~630 ns instead of ~135, an integer in ~46 instead
    // of ~12).
    this.buffer = buffer;
    this.u8 = new Uint8Array(buffer, 0, size);
    this.dv = new DataView(buffer, 0, size);
  }

  private value(): unknown {
    const tag = this.u8[this.pos++];
    switch (tag) {
      case T_UNDEFINED: return undefined;
      case T_NULL: return null;
      case T_FALSE: return false;
      case T_TRUE: return true;
      case T_INT8: return (this.u8[this.pos++] << 24) >> 24;
      case T_INT32: {
        const v = this.dv.getInt32(this.pos, true);
        this.pos += 4;
        return v;
      }
      case T_FLOAT64: return this.float64();
      case T_STRING: {
        // Short ASCII, the common case, without the general string path's calls.
        const head = this.u8[this.pos];
        if (head <= ASCII_FIXED * 2 && (head & 1) === 0) {
          const p = this.pos + 1;
          const len = head >> 1;
          if (p + len <= this.end) {
            this.pos = p + len;
            return ascii16(this.u8, p, len) ?? decodeUnits(this.u8, p, len);
          }
        }
        return this.str();
      }
      case T_OBJECT: return this.object();
      case T_ARRAY: return this.array();
      case T_BIGINT64: {
        const v = this.dv.getBigInt64(this.pos, true);
        this.pos += 8;
        return v;
      }
      case T_BIGINT: return this.bigint();
      case T_DATE: return new Date(this.float64());
      case T_VIEW: return this.view();
      case T_ARRAYBUFFER: {
        const len = this.varint();
        return this.copy(len);
      }
      case T_HOST: {
        if (this.host === undefined) throw new RangeError(`malformed message: a host reference at byte ${this.pos - 1} but no host hook`);
        return this.host.decode(this.varint());
      }
      default:
        throw new RangeError(`malformed message: unknown tag ${String(tag)} at byte ${this.pos - 1}`);
    }
  }

  private float64(): number {
    const v = this.dv.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  private varint(): number {
    const u8 = this.u8;
    let b = u8[this.pos++];
    if (b < 0x80) return b;
    let n = b & 0x7f;
    let scale = 0x80;
    do {
      b = u8[this.pos++];
      n += (b & 0x7f) * scale;
      scale *= 0x80;
    } while (b >= 0x80);
    return n;
  }

  private str(): string {
    return this.strBody(this.varint());
  }

  /** String after its header `byteLength * 2 + wtf`. */
  private strBody(head: number): string {
    const len = Math.floor(head / 2);
    const p = this.pos;
    this.pos = p + len;
    if (this.pos > this.end) throw new RangeError('malformed message: string runs past the end');
    if (len <= ASCII_FIXED) return ascii16(this.u8, p, len) ?? decodeUnits(this.u8, p, len);
    if (len <= TEXT_DECODER_MIN) return decodeShort(this.u8, p, len);
    if (head % 2 === 0) {
      const bytes = this.u8.subarray(p, p + len);
      // Browsers' TextDecoder rejects views on SharedArrayBuffer: copy there.
      return utf8Decoder.decode(!isNode && bytes.buffer instanceof SharedArrayBuffer ? bytes.slice() : bytes);
    }
    return decodeLong(this.u8, p, len);
  }

  /**
   * An object key. Keys repeat from message to message, so short ASCII keys
   * come from a cache: the same string each time, which V8 has already
   * internalized, instead of a fresh string to build and then look up. The
   * slot comes from the length and three sampled bytes (no pass over the key),
   * and the bytes are compared with a copy of the cached key's.
   */
  private key(): string {
    const b = this.u8;
    const at = this.pos;
    const head = b[at];
    // One-byte header, well-formed, short: anything else is read as a plain string.
    if (head > KEY_CACHE_MAX_BYTES * 2 || (head & 1) !== 0) return this.str();
    const len = head >> 1;
    const p = at + 1;
    if (len === 0) {
      this.pos = p;
      return '';
    }
    if (p + len > this.end) throw new RangeError('malformed message: key runs past the end');
    const slot = (len * 0x9e5 + b[p] * 0x3b + b[p + (len >> 1)] * 0x1f1 + b[p + len - 1]) & (KEY_CACHE_SIZE - 1);
    const cached = keyCache[slot];
    const base = slot * KEY_CACHE_MAX_BYTES;
    if (cached.length === len) {
      let i = 0;
      while (i < len && b[p + i] === keyBytes[base + i]) i++;
      if (i === len) {
        this.pos = p + len;
        if (keyInterned[slot] === 1) return cached;
        // Seen twice: worth internalizing. A fresh string works as a key too,
        // but V8 looks it up in its string table on each use, and optimized
        // stores keyed on the interned name do not match it.
        keyInterned[slot] = 1;
        return (keyCache[slot] = internalize(cached));
      }
    }
    this.pos = p;
    const k = this.strBody(head);
    if (k.length === len) {
      // ASCII (one unit a byte): cache it. Keys seen once (ids used as keys)
      // only cost this copy.
      keyCache[slot] = k;
      keyInterned[slot] = 0;
      for (let i = 0; i < len; i++) keyBytes[base + i] = b[p + i];
    }
    return k;
  }

  /**
   * A plain object. The first properties are stored from separate lines of
   * code, one per position: a channel usually carries one kind of message, so
   * each of these stores sees one key on one hidden class and V8 compiles it
   * to a direct field write, where a single store in a loop sees every key and
   * falls back to a generic lookup (about 15 ns a property).
   */
  private object(): Record<string, unknown> {
    const n = this.varint();
    const o: Record<string, unknown> = {};
    let k: string;
    if (n === 0) return o;
    if ((k = this.key()) === '__proto__') ownProto(o, this.value());
    else o[k] = this.value();
    if (n === 1) return o;
    if ((k = this.key()) === '__proto__') ownProto(o, this.value());
    else o[k] = this.value();
    if (n === 2) return o;
    if ((k = this.key()) === '__proto__') ownProto(o, this.value());
    else o[k] = this.value();
    if (n === 3) return o;
    if ((k = this.key()) === '__proto__') ownProto(o, this.value());
    else o[k] = this.value();
    if (n === 4) return o;
    if ((k = this.key()) === '__proto__') ownProto(o, this.value());
    else o[k] = this.value();
    if (n === 5) return o;
    if ((k = this.key()) === '__proto__') ownProto(o, this.value());
    else o[k] = this.value();
    for (let i = 6; i < n; i++) {
      if ((k = this.key()) === '__proto__') ownProto(o, this.value());
      else o[k] = this.value();
    }
    return o;
  }

  private array(): unknown[] {
    const n = this.varint();
    // Every element takes at least a byte: a count beyond what is left is malformed,
    // and checking it first keeps a forged count from allocating a huge array.
    if (n > this.end - this.pos) throw new RangeError(`malformed message: an array of ${n} elements in ${this.end - this.pos} bytes`);
    if (n > PREALLOCATE_MAX) {
      const a: unknown[] = [];
      for (let i = 0; i < n; i++) a.push(this.value());
      return a;
    }
    // Small: allocated at its length at once (V8 would make a long one a slow dictionary).
    const a: unknown[] = new Array(n);
    for (let i = 0; i < n; i++) a[i] = this.value();
    return a;
  }

  private bigint(): bigint {
    const negative = this.u8[this.pos++] === 1;
    const bytes = this.varint();
    let v = 0n;
    for (let at = this.pos + bytes - 8; at >= this.pos; at -= 8) v = (v << 64n) | this.dv.getBigUint64(at, true);
    this.pos += bytes;
    return negative ? -v : v;
  }

  private view(): ArrayBufferView {
    const kind = this.u8[this.pos++];
    const len = this.varint();
    if (kind === KIND_UINT8 && len < ALLOCATE_MIN) {
      // The copy itself, not a view built on its buffer: V8 keeps small typed
      // arrays inside its heap and makes their ArrayBuffer only if asked
      // (measured here: ~60 ns instead of ~300 ns for 16 bytes).
      const p = this.pos;
      this.pos = p + len;
      if (this.pos > this.end) throw new RangeError('malformed message: bytes run past the end');
      return this.u8.slice(p, p + len);
    }
    const buffer = this.copy(len);
    if (kind === KIND_DATAVIEW) return new DataView(buffer);
    const Ctor = VIEW_CTORS[kind];
    if (Ctor === undefined) throw new RangeError(`malformed message: unknown view kind ${kind}`);
    return new Ctor(buffer);
  }

  /** A private copy of the next `len` bytes. */
  private copy(len: number): ArrayBuffer {
    const p = this.pos;
    this.pos = p + len;
    if (this.pos > this.end) throw new RangeError('malformed message: bytes run past the end');
    if (len < ALLOCATE_MIN) return this.u8.slice(p, p + len).buffer as ArrayBuffer;
    // Big copies: skip zero-filling memory that is overwritten at once.
    const out = platform.allocate(len);
    new Uint8Array(out).set(this.u8.subarray(p, p + len));
    return out;
  }
}

/** The internalized copy of `s`: property names listed by Object.keys are. */
function internalize(s: string): string {
  return Object.keys({ [s]: 0 })[0]!; // (a computed `__proto__` is an own key, too)
}

/** `__proto__` as an own data property (an assignment would set the prototype instead). */
function ownProto(o: object, v: unknown): void {
  Object.defineProperty(o, '__proto__', { value: v, writable: true, enumerable: true, configurable: true });
}

const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';

/**
 * Up to 16 bytes as a string if all are ASCII, else undefined. One call of
 * fixed arity per length: measured here about twice as fast as
 * `fromCharCode.apply` over an array for 12 bytes.
 */
function ascii16(b: Uint8Array, p: number, n: number): string | undefined {
  let or = 0;
  for (let i = 0; i < n; i++) or |= b[p + i];
  if (or >= 0x80) return undefined;
  switch (n) {
    case 0: return '';
    case 1: return fromCharCode(b[p]);
    case 2: return fromCharCode(b[p], b[p + 1]);
    case 3: return fromCharCode(b[p], b[p + 1], b[p + 2]);
    case 4: return fromCharCode(b[p], b[p + 1], b[p + 2], b[p + 3]);
    case 5: return fromCharCode(b[p], b[p + 1], b[p + 2], b[p + 3], b[p + 4]);
    case 6: return fromCharCode(b[p], b[p + 1], b[p + 2], b[p + 3], b[p + 4], b[p + 5]);
    case 7: return fromCharCode(b[p], b[p + 1], b[p + 2], b[p + 3], b[p + 4], b[p + 5], b[p + 6]);
    case 8: return fromCharCode(b[p], b[p + 1], b[p + 2], b[p + 3], b[p + 4], b[p + 5], b[p + 6], b[p + 7]);
    case 9: return fromCharCode(b[p], b[p + 1], b[p + 2], b[p + 3], b[p + 4], b[p + 5], b[p + 6], b[p + 7], b[p + 8]);
    case 10: return fromCharCode(b[p], b[p + 1], b[p + 2], b[p + 3], b[p + 4], b[p + 5], b[p + 6], b[p + 7], b[p + 8], b[p + 9]);
    case 11: return fromCharCode(b[p], b[p + 1], b[p + 2], b[p + 3], b[p + 4], b[p + 5], b[p + 6], b[p + 7], b[p + 8], b[p + 9], b[p + 10]);
    case 12: return fromCharCode(b[p], b[p + 1], b[p + 2], b[p + 3], b[p + 4], b[p + 5], b[p + 6], b[p + 7], b[p + 8], b[p + 9], b[p + 10], b[p + 11]);
    case 13: return fromCharCode(b[p], b[p + 1], b[p + 2], b[p + 3], b[p + 4], b[p + 5], b[p + 6], b[p + 7], b[p + 8], b[p + 9], b[p + 10], b[p + 11], b[p + 12]);
    case 14: return fromCharCode(b[p], b[p + 1], b[p + 2], b[p + 3], b[p + 4], b[p + 5], b[p + 6], b[p + 7], b[p + 8], b[p + 9], b[p + 10], b[p + 11], b[p + 12], b[p + 13]);
    case 15: return fromCharCode(b[p], b[p + 1], b[p + 2], b[p + 3], b[p + 4], b[p + 5], b[p + 6], b[p + 7], b[p + 8], b[p + 9], b[p + 10], b[p + 11], b[p + 12], b[p + 13], b[p + 14]);
    case 16: return fromCharCode(b[p], b[p + 1], b[p + 2], b[p + 3], b[p + 4], b[p + 5], b[p + 6], b[p + 7], b[p + 8], b[p + 9], b[p + 10], b[p + 11], b[p + 12], b[p + 13], b[p + 14], b[p + 15]);
    default: return undefined;
  }
}

/** Decodes UTF-8/WTF-8 bytes `[p, p + len)` into UTF-16 units in `out` from 0; returns the unit count. */
function toUnits(b: Uint8Array, p: number, len: number, out: number[]): number {
  const end = p + len;
  let k = 0;
  while (p < end) {
    const c = b[p++];
    if (c < 0x80) out[k++] = c;
    else if (c < 0xe0) out[k++] = ((c & 0x1f) << 6) | (b[p++] & 0x3f);
    else if (c < 0xf0) {
      out[k++] = ((c & 0x0f) << 12) | ((b[p] & 0x3f) << 6) | (b[p + 1] & 0x3f);
      p += 2;
    } else {
      const cp = (((c & 0x07) << 18) | ((b[p] & 0x3f) << 12) | ((b[p + 1] & 0x3f) << 6) | (b[p + 2] & 0x3f)) - 0x10000;
      p += 3;
      out[k++] = 0xd800 + (cp >> 10);
      out[k++] = 0xdc00 + (cp & 0x3ff);
    }
  }
  return k;
}

/** Short strings (≤ TEXT_DECODER_MIN bytes): into an exact-length array, then one fromCharCode. */
function decodeShort(b: Uint8Array, p: number, len: number): string {
  // ASCII first: bytes are the units, straight into the exact-length array.
  const ascii = unitArrays[len];
  let or = 0;
  for (let i = 0; i < len; i++) or |= ascii[i] = b[p + i];
  if (or < 0x80) return fromCharCode.apply(null, ascii);
  return decodeUnits(b, p, len);
}

/** A short string known not to be ASCII (≤ TEXT_DECODER_MIN bytes). */
function decodeUnits(b: Uint8Array, p: number, len: number): string {
  const k = toUnits(b, p, len, unitScratch);
  const units = unitArrays[k];
  for (let i = 0; i < k; i++) units[i] = unitScratch[i];
  return fromCharCode.apply(null, units);
}

/** Long strings with lone surrogates (TextDecoder would replace them): in chunks. */
function decodeLong(b: Uint8Array, p: number, len: number): string {
  const units: number[] = [];
  toUnits(b, p, len, units);
  let s = '';
  for (let i = 0; i < units.length; i += 4096) s += fromCharCode.apply(null, units.slice(i, i + 4096));
  return s;
}

const defaultDecoder = new Decoder();

/**
 * Decodes one message with a module-wide {@link Decoder}.
 *
 * @example
 * ```ts
 * const enc = new Encoder();
 * const n = enc.encode({ id: 1, at: new Date(0) });
 * decode(enc.bytes, 0, n); // { id: 1, at: 1970-01-01T00:00:00.000Z }
 * ```
 */
export function decode(bytes: Uint8Array, offset = 0, length: number = bytes.length - offset): unknown {
  return defaultDecoder.decode(bytes, offset, length);
}

// ---------------------------------------------------------------------------
// Refusals: find what inside the value structured clone refused
// ---------------------------------------------------------------------------

const ADVICE = 'send plain data; functions and symbols cannot cross threads';

/** Turns a serializer failure into an UnserializableValueError naming the path, or passes it on. */
function refusal(value: unknown, error: unknown): unknown {
  let found: Found | undefined;
  try {
    found = findUnclonable(value, 'value', new Set());
  } catch {
    found = undefined; // a getter that throws on a second read: report what the serializer said
  }
  if (found) return new UnserializableValueError(found.path, found.what, found.advice, error);
  const message = error instanceof Error ? error.message : '';
  if (/could not be cloned/.test(message)) {
    return new UnserializableValueError('value', 'not structured-clonable', `${message} Send plain data.`, error);
  }
  return error; // not a refusal (e.g. a getter threw): let it through unchanged
}

interface Found {
  path: string;
  what: string;
  advice: string;
}

const IDENT = /^[A-Za-z_$][\w$]*$/;
const objectToString = Object.prototype.toString;

function keyPath(path: string, key: string, isArray: boolean): string {
  if (isArray && /^(0|[1-9]\d*)$/.test(key)) return `${path}[${key}]`;
  return IDENT.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

function describeKey(k: unknown): string {
  if (typeof k === 'string') return JSON.stringify(k);
  if (typeof k === 'number' || typeof k === 'boolean' || k === null || k === undefined) return String(k);
  if (typeof k === 'bigint') return `${k}n`;
  return '…';
}

/** Depth-first search for the first part structured clone refuses, in serialization order. */
function findUnclonable(v: unknown, path: string, seen: Set<object>): Found | undefined {
  if (typeof v === 'function') return { path, what: 'a function', advice: ADVICE };
  if (typeof v === 'symbol') return { path, what: 'a symbol', advice: ADVICE };
  if (typeof v !== 'object' || v === null || seen.has(v)) return undefined;
  seen.add(v);
  const kind = refusedKind(v);
  if (kind) return { path, ...kind };
  if (v instanceof Map) {
    let i = 0;
    for (const [k, e] of v) {
      const at = `${path}.get(${describeKey(k)})`;
      const r = findUnclonable(k, `${path} (key of entry #${i})`, seen) ?? findUnclonable(e, at, seen);
      if (r) return r;
      i++;
    }
    return undefined;
  }
  if (v instanceof Set) {
    let i = 0;
    for (const e of v) {
      const r = findUnclonable(e, `${path} (Set item #${i++})`, seen);
      if (r) return r;
    }
    return undefined;
  }
  if (ArrayBuffer.isView(v) || v instanceof Date || v instanceof RegExp || types.isBoxedPrimitive(v)) return undefined;
  if (v instanceof Error) {
    // Structured clone keeps message, stack and cause of errors, nothing else.
    return 'cause' in v ? findUnclonable(v.cause, `${path}.cause`, seen) : undefined;
  }
  const isArray = Array.isArray(v);
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    const r = findUnclonable(o[k], keyPath(path, k, isArray), seen);
    if (r) return r;
  }
  return undefined;
}

/** Objects refused (or not carried by bytes) as a whole, with what to say about them. */
function refusedKind(v: object): Omit<Found, 'path'> | undefined {
  const plain = 'send plain data instead';
  if (platform.isProxy(v)) return { what: 'a Proxy, which structured clone refuses', advice: 'send a plain copy of it instead' };
  if (v instanceof SharedArrayBuffer || (ArrayBuffer.isView(v) && v.buffer instanceof SharedArrayBuffer)) {
    return {
      what: 'shared memory (a SharedArrayBuffer)',
      advice: 'it cannot be copied into a message; share it once through postMessage and send indexes into it',
    };
  }
  const buffer = v instanceof ArrayBuffer ? v : ArrayBuffer.isView(v) ? v.buffer : undefined;
  if (buffer instanceof ArrayBuffer && isDetached(buffer)) return { what: 'a detached ArrayBuffer', advice: 'its memory was transferred away; send a live copy' };
  for (const [C, name] of REFUSED) if (v instanceof C) return { what: `a ${name}, which structured clone refuses`, advice: plain };
  const tag = objectToString.call(v);
  if (tag === '[object Arguments]') return { what: 'an arguments object, which structured clone refuses', advice: 'send an array instead ([...arguments])' };
  if (tag === '[object Module]' && Object.getPrototypeOf(v) === null) {
    return { what: 'a module namespace object, which structured clone refuses', advice: 'send the plain data it exports instead' };
  }
  const wasm = (globalThis as { WebAssembly?: { Module: abstract new (...args: never[]) => object } }).WebAssembly;
  if (wasm !== undefined && v instanceof wasm.Module) {
    return { what: 'a WebAssembly.Module', advice: 'it cannot be copied into bytes; send it through postMessage' };
  }
  return undefined;
}

const REFUSED: ReadonlyArray<readonly [abstract new (...args: never[]) => object, string]> = [
  [WeakMap, 'WeakMap'],
  [WeakSet, 'WeakSet'],
  [WeakRef, 'WeakRef'],
  [Promise, 'Promise'],
  [FinalizationRegistry, 'FinalizationRegistry'],
];

/** Node 20 lacks ArrayBuffer#detached; a detached buffer is empty and cannot back a new view. */
function isDetached(b: ArrayBuffer): boolean {
  if (b.byteLength !== 0) return false;
  try {
    new Uint8Array(b);
    return false;
  } catch {
    return true;
  }
}
