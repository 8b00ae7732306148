/**
 * Stack sampling of a busy thread through the inspector, from the monitor thread.
 *
 * A `Runtime.evaluate` posted to a thread's inspector is dispatched through a
 * V8 interrupt, so it runs even while that thread spins in JavaScript, on top
 * of the spinning frames. The evaluated snippet captures its own stack trace
 * (an ordinary `Error.captureStackTrace`), which therefore lists the frames of
 * the code that is stuck, and returns it as plain data.
 *
 * Why not the alternatives: `Debugger.pause` makes V8 build scope chains for
 * every paused frame, and on Node 20 that aborts the process now and then (a
 * check failure in the scope iterator) when the pause lands in optimized code;
 * it also needs a resume. The CPU profiler (`Profiler.start`/`stop`) never
 * pauses but only knows code compiled while it runs: a loop that was
 * on-stack-replaced before the profiler started shows as its caller.
 * A stack trace needs neither scopes nor a pause, and costs the sampled thread
 * one short script run.
 *
 * The main thread is reached with `connectToMainThread()`; worker threads
 * through the `NodeWorker` domain of that same session.
 * @module
 */
import inspector from 'node:inspector';
import type { StackFrame } from './alert.js';

/** How long a sample may take before the alert goes out without frames, ms. */
const SAMPLE_TIMEOUT_MS = 1000;
/** Deepest stack kept. */
const MAX_FRAMES = 64;
/** The sample script's own name, to drop its frame from the result. */
const SAMPLE_URL = 'weft:hang-monitor-sample';

/**
 * Runs on the sampled thread, inside whatever it was doing. It restores
 * `Error.stackTraceLimit` and `Error.prepareStackTrace` before returning, and
 * when `prepareStackTrace` cannot be replaced (frozen intrinsics) returns the
 * plain stack string instead.
 */
const SAMPLE_SOURCE = `(function () {
  const E = Error, limit = E.stackTraceLimit, prepare = E.prepareStackTrace, o = {};
  try {
    E.stackTraceLimit = ${MAX_FRAMES};
    E.prepareStackTrace = function (_, sites) {
      return sites.map(function (s) {
        return [s.getFunctionName() || '', s.getScriptNameOrSourceURL() || s.getFileName() || '', s.getLineNumber() || 0, s.getColumnNumber() || 0];
      });
    };
    E.captureStackTrace(o);
    return o.stack;
  } finally {
    E.stackTraceLimit = limit;
    E.prepareStackTrace = prepare;
  }
})()
//# sourceURL=${SAMPLE_URL}`;

const EVALUATE = { expression: SAMPLE_SOURCE, returnByValue: true, silent: true, generatePreview: false };

/** Frames out of the sample script's result (an array of tuples, or a stack string). */
function parseSample(value: unknown): StackFrame[] | undefined {
  const frames: StackFrame[] = [];
  if (Array.isArray(value)) {
    for (const t of value) {
      if (!Array.isArray(t) || t.length < 4) continue;
      const [functionName, url, line, column] = t as [unknown, unknown, unknown, unknown];
      if (url === SAMPLE_URL) continue;
      frames.push({ functionName: String(functionName), url: String(url), line: Number(line), column: Number(column) });
    }
  } else if (typeof value === 'string') {
    for (const l of value.split('\n')) {
      const m = /^\s*at (?:(.*?) \()?(.*?):(\d+):(\d+)\)?$/.exec(l);
      if (m === null || m[2] === SAMPLE_URL) continue;
      frames.push({ functionName: m[1] ?? '', url: m[2]!, line: Number(m[3]), column: Number(m[4]) });
    }
  } else return undefined;
  return frames.length > 0 ? frames : undefined;
}

type Reply = { result?: { result?: { value?: unknown } }; error?: unknown };

/** Samples the stacks of this process's threads (0 = main) from a worker thread. */
export class Sampler {
  private session: inspector.Session | undefined;
  private closed = false;
  private workersEnabled: Promise<unknown> | undefined;
  /** threadId → inspector sessionId of that worker */
  private readonly workerSessions = new Map<number, string>();
  private readonly attachWaiters = new Map<number, () => void>();
  private readonly replies = new Map<number, (r: Reply | undefined) => void>();
  private nextId = 1;
  /** A session callback alone does not keep a worker thread alive: hold a ref'd timer while calls are out. */
  private keepAlive: ReturnType<typeof setInterval> | undefined;
  private pending = 0;

  private connect(): inspector.Session {
    if (this.session !== undefined) return this.session;
    if (this.closed) throw new Error('sampler closed');
    const s = new inspector.Session();
    s.connectToMainThread();
    this.connectedOnce = true;
    s.on('NodeWorker.attachedToWorker', (m: { params: { sessionId: string; workerInfo: { title?: string } } }) => {
      // The protocol's workerId is the inspector's own counter; the thread id is only in the title.
      const got = /^\[worker (\d+)\]/.exec(m.params.workerInfo.title ?? '');
      if (got === null) return;
      const id = Number(got[1]);
      this.workerSessions.set(id, m.params.sessionId);
      this.attachWaiters.get(id)?.();
    });
    s.on('NodeWorker.detachedFromWorker', (m: { params: { sessionId: string } }) => {
      for (const [id, sid] of this.workerSessions) if (sid === m.params.sessionId) this.workerSessions.delete(id);
    });
    s.on('NodeWorker.receivedMessageFromWorker', (m: { params: { message: string } }) => {
      let msg: Reply & { id?: number };
      try {
        msg = JSON.parse(m.params.message) as Reply & { id?: number };
      } catch {
        return;
      }
      if (msg.id === undefined) return;
      const r = this.replies.get(msg.id);
      this.replies.delete(msg.id);
      r?.(msg);
    });
    this.session = s;
    return s;
  }

  /** Keeps the session (and this thread) alive until the matching {@link release}: a profile holds it for its whole run. */
  hold(): void {
    if (this.pending++ === 0) this.keepAlive = setInterval(() => {}, 1000);
  }

  /**
   * The session is connected only while samples are taken: a session from a
   * worker thread keeps the main thread from exiting ("Waiting for the
   * debugger to disconnect"), and a process must be able to end without
   * stopping its monitor.
   */
  release(): void {
    if (--this.pending > 0) return;
    if (this.keepAlive !== undefined) clearInterval(this.keepAlive);
    this.keepAlive = undefined;
    this.disconnect();
  }

  /** Whether a session was ever connected (the monitor's exit then waits for the main thread; see worker.ts). */
  private connectedOnce = false;

  private disconnect(): void {
    const s = this.session;
    if (s === undefined) return;
    this.session = undefined;
    this.workersEnabled = undefined;
    this.workerSessions.clear();
    for (const r of this.replies.values()) r(undefined);
    this.replies.clear();
    for (const w of this.attachWaiters.values()) w();
    try {
      s.disconnect();
    } catch {
      // already gone
    }
  }

  /** A call on the session; resolves undefined on error. */
  private post(method: string, params: object): Promise<unknown> {
    const s = this.session;
    if (s === undefined || this.closed) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      try {
        s.post(method, params, (err, res) => resolve(err ? undefined : res));
      } catch {
        resolve(undefined);
      }
    });
  }

  /** A call forwarded to a worker's inspector; resolves with its reply (undefined when it cannot be sent). */
  private postWorker(sessionId: string, method: string, params: object): Promise<Reply | undefined> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.replies.set(id, resolve);
      const message = JSON.stringify({ id, method, params });
      void this.post('NodeWorker.sendMessageToWorker', { sessionId, message }).then((r) => {
        if (r === undefined && this.replies.delete(id)) resolve(undefined);
      });
    });
  }

  private async workerSession(threadId: number): Promise<string | undefined> {
    // Attaching reports every running worker at once; later workers attach as they start.
    this.workersEnabled ??= this.post('NodeWorker.enable', { waitForDebuggerOnStart: false });
    await this.workersEnabled;
    const known = this.workerSessions.get(threadId);
    if (known !== undefined || this.closed) return known;
    await new Promise<void>((resolve) => this.attachWaiters.set(threadId, resolve));
    this.attachWaiters.delete(threadId);
    return this.workerSessions.get(threadId);
  }

  private async sampleNow(threadId: number): Promise<StackFrame[] | undefined> {
    this.connect();
    let reply: Reply | undefined;
    if (threadId === 0) {
      const res = (await this.post('Runtime.evaluate', EVALUATE)) as Reply['result'];
      reply = { result: res };
    } else {
      const sid = await this.workerSession(threadId);
      if (sid === undefined) return undefined;
      reply = await this.postWorker(sid, 'Runtime.evaluate', EVALUATE);
    }
    if (reply === undefined || reply.error !== undefined) return undefined;
    return parseSample(reply.result?.result?.value);
  }

  /**
   * The current stack of thread `threadId` (0 = main), top frame first, or
   * undefined when it could not be taken within `timeoutMs` (a thread blocked
   * outside JavaScript, in a synchronous system call, answers only later).
   */
  async sample(threadId: number, timeoutMs = SAMPLE_TIMEOUT_MS): Promise<StackFrame[] | undefined> {
    if (this.closed) return undefined;
    this.hold();
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      return await Promise.race([
        this.sampleNow(threadId).catch(() => undefined),
        new Promise<undefined>((resolve) => {
          timer = setTimeout(() => resolve(undefined), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
      this.release();
    }
  }

  /**
   * Stops sampling and disconnects. Returns whether a session was ever
   * connected: the main thread processes a disconnect later and then writes
   * back to this thread's inspector, so this thread must not exit before the
   * main thread has done so (see the monitor's shutdown).
   */
  close(): boolean {
    this.closed = true;
    this.disconnect();
    return this.connectedOnce;
  }
}
