/**
 * Stack sampling through the inspector, from the monitor worker.
 *
 * The spike paused the target with `Debugger.pause` and read `callFrames`; on
 * Node 20.20 that aborted the whole process (V8 CHECK failure in
 * `ScopeIterator::VisitLocalScope`, building scope chains for the paused
 * frames of a busy worker). So this samples with the CPU profiler instead:
 * `Profiler.start`, a short window, `Profiler.stop`, and the stack of the last
 * busy sample. The target thread is never paused, and V8 never walks scopes.
 * Works the same for the main thread (the session itself) and for a worker
 * (through the `NodeWorker` domain on the same session).
 * @module
 */
import inspector from 'node:inspector';
import type { StackFrame } from './alert.js';

/** Sampling window, ms. */
const WINDOW_MS = 25;
/** Guard for one inspector call, ms. */
const CALL_TIMEOUT_MS = 1000;
/** How long to wait for a worker's inspector target to be attached. */
const ATTACH_TIMEOUT_MS = 1000;
/** A pause that gets no `Debugger.paused` within this is resumed anyway. */
const PAUSE_TIMEOUT_MS = 200;
/** Frames of a paused event arriving up to this late are still used. */
const LATE_PAUSE_MS = 1000;
/** Guard for a whole sample. */
const SAMPLE_TIMEOUT_MS = 2500;

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples?: number[];
}

const META = new Set(['(root)', '(program)', '(idle)', '(garbage collector)']);

/** The stack (top first) of the last sample that ran JavaScript. */
export function lastStack(profile: Profile): StackFrame[] | undefined {
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of profile.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const samples = profile.samples ?? [];
  for (let k = samples.length - 1; k >= 0; k--) {
    const leaf = byId.get(samples[k]);
    if (leaf === undefined || META.has(leaf.callFrame.functionName)) continue;
    const frames: StackFrame[] = [];
    for (let n: ProfileNode | undefined = leaf; n !== undefined; n = byId.get(parent.get(n.id) ?? -1)) {
      if (META.has(n.callFrame.functionName)) continue;
      const f = n.callFrame;
      frames.push({ functionName: f.functionName, url: f.url, line: f.lineNumber + 1, column: f.columnNumber + 1 });
    }
    if (frames.length > 0) return frames;
  }
  return undefined;
}

type Target = number; // threadId; 0 = main
interface PausedFrame {
  functionName: string;
  url: string;
  location: { scriptId?: string; lineNumber: number; columnNumber?: number };
}
/**
 * `'profiler'` (default): CPU profiler window, never pauses the target. Code
 * already running in on-stack-replaced (OSR) form before the window may be
 * attributed to its caller.
 * `'debugger'`: `Debugger.pause` / `callFrames` / `Debugger.resume`: exact
 * frames, but see the module note: it can abort the process on Node 20.
 */
export type SamplerMode = 'profiler' | 'debugger';
type Reply = { result?: unknown; error?: unknown };

export class Sampler {
  private session: inspector.Session | undefined;
  private workersEnabled: Promise<unknown> | undefined;
  private closed = false;
  /** A ref'd timer while inspector calls are pending: a session callback alone does not keep a worker alive. */
  private keepAlive: ReturnType<typeof setInterval> | undefined;
  private pending = 0;
  /** workerId (threadId) → inspector sessionId */
  private readonly workerSessions = new Map<number, string>();
  private readonly attachWaiters = new Map<number, (sessionId: string) => void>();
  private readonly workerReplies = new Map<number, (r: Reply) => void>();
  private readonly profilerReady = new Set<Target>();
  private readonly busy = new Set<Target>();
  private nextId = 1;
  /** Waiters for a `Debugger.paused` event, by target. */
  private readonly pauseWaiters = new Map<Target, (frames: StackFrame[] | undefined) => void>();
  private readonly debuggerReady = new Set<Target>();
  /** scriptId → url per target, from `Debugger.scriptParsed` (callFrames' own url is often empty). */
  private readonly scriptUrls = new Map<Target, Map<string, string>>();

  private onScript(target: Target, params: { scriptId?: string; url?: string } | undefined): void {
    if (params?.scriptId === undefined || !params.url) return;
    let m = this.scriptUrls.get(target);
    if (m === undefined) this.scriptUrls.set(target, (m = new Map()));
    m.set(params.scriptId, params.url);
  }

  /**
   * `local`: connect to this thread's own inspector (used on the main thread
   * to sample workers for the monitor) instead of `connectToMainThread`.
   */
  constructor(
    readonly mode: SamplerMode = 'debugger',
    private readonly local = false,
  ) {}

  private onPaused(target: Target, callFrames: PausedFrame[] | undefined, resume: () => void): void {
    resume(); // never leave a thread paused, whoever paused it
    const w = this.pauseWaiters.get(target);
    if (w === undefined) return;
    this.pauseWaiters.delete(target);
    const urls = this.scriptUrls.get(target);
    w((callFrames ?? []).map((f) => ({ functionName: f.functionName, url: f.url || (urls?.get(f.location.scriptId ?? '') ?? ''), line: f.location.lineNumber + 1, column: (f.location.columnNumber ?? 0) + 1 })));
  }

  private connect(): inspector.Session {
    if (this.session !== undefined) return this.session;
    const s = new inspector.Session();
    if (this.local) s.connect();
    else s.connectToMainThread();
    s.on('NodeWorker.attachedToWorker', (m: { params: { sessionId: string; workerInfo: { workerId: string | number } } }) => {
      const id = Number(m.params.workerInfo.workerId);
      this.workerSessions.set(id, m.params.sessionId);
      const w = this.attachWaiters.get(id);
      if (w !== undefined) {
        this.attachWaiters.delete(id);
        w(m.params.sessionId);
      }
    });
    s.on('NodeWorker.detachedFromWorker', (m: { params: { sessionId: string } }) => {
      for (const [id, sid] of this.workerSessions) {
        if (sid === m.params.sessionId) {
          this.workerSessions.delete(id);
          this.profilerReady.delete(id);
        }
      }
    });
    s.on('NodeWorker.receivedMessageFromWorker', (m: { params: { sessionId: string; message: string } }) => {
      let msg: { id?: number; method?: string; params?: { callFrames?: PausedFrame[]; scriptId?: string; url?: string } } & Reply;
      try {
        msg = JSON.parse(m.params.message);
      } catch {
        return;
      }
      const sid = m.params.sessionId;
      let target: Target | undefined;
      for (const [id, x] of this.workerSessions) if (x === sid) target = id;
      if (msg.method === 'Debugger.scriptParsed') return this.onScript(target ?? -1, msg.params);
      if (msg.method === 'Debugger.paused') {
        this.onPaused(target ?? -1, msg.params?.callFrames, () => void this.postWorker(sid, 'Debugger.resume'));
        return;
      }
      if (msg.id === undefined) return;
      const r = this.workerReplies.get(msg.id);
      if (r !== undefined) {
        this.workerReplies.delete(msg.id);
        r(msg);
      }
    });
    s.on('Debugger.scriptParsed', (m: { params: { scriptId: string; url: string } }) => this.onScript(0, m.params));
    s.on('Debugger.paused', (m: { params: { callFrames: PausedFrame[] } }) => {
      this.onPaused(0, m.params.callFrames, () => void this.post('Debugger.resume'));
    });
    this.session = s;
    return s;
  }

  /** A call on this session; resolves undefined on error or timeout. */
  private post(method: string, params?: object): Promise<unknown> {
    const s = this.session;
    if (s === undefined) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(undefined), CALL_TIMEOUT_MS);
      try {
        s.post(method, params ?? {}, (err, res) => {
          clearTimeout(timer);
          resolve(err ? undefined : res);
        });
      } catch {
        clearTimeout(timer);
        resolve(undefined);
      }
    });
  }

  /** A call on a worker's inspector target; resolves undefined on error or timeout. */
  private postWorker(sessionId: string, method: string, params?: object): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.workerReplies.delete(id);
        resolve(undefined);
      }, CALL_TIMEOUT_MS);
      this.workerReplies.set(id, (r) => {
        clearTimeout(timer);
        resolve(r.error !== undefined ? undefined : r.result);
      });
      const message = JSON.stringify({ id, method, params: params ?? {} });
      void this.post('NodeWorker.sendMessageToWorker', { sessionId, message });
    });
  }

  private hold(): void {
    if (this.pending++ === 0) this.keepAlive = setInterval(() => {}, 1000);
  }

  private release(): void {
    if (--this.pending === 0 && this.keepAlive !== undefined) {
      clearInterval(this.keepAlive);
      this.keepAlive = undefined;
    }
  }

  /** Attaches to worker targets ahead of time (a target attached long before its first pause pauses more reliably). */
  prepareWorkers(): void {
    if (this.closed) return;
    this.connect();
    this.workersEnabled ??= this.post('NodeWorker.enable', { waitForDebuggerOnStart: false });
  }

  private async workerSession(threadId: number): Promise<string | undefined> {
    this.workersEnabled ??= this.post('NodeWorker.enable', { waitForDebuggerOnStart: false });
    await this.workersEnabled;
    const known = this.workerSessions.get(threadId);
    if (known !== undefined) return known;
    return new Promise<string | undefined>((resolve) => {
      const timer = setTimeout(() => {
        this.attachWaiters.delete(threadId);
        resolve(undefined);
      }, ATTACH_TIMEOUT_MS);
      this.attachWaiters.set(threadId, (s) => {
        clearTimeout(timer);
        resolve(s);
      });
    });
  }

  /** Samples the stack of thread `threadId` (0 = main). Resolves undefined if sampling failed. */
  async sample(threadId: number): Promise<StackFrame[] | undefined> {
    if (this.closed || this.busy.has(threadId)) return undefined;
    this.hold();
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      return await Promise.race([
        this.sampleOnce(threadId),
        new Promise<undefined>((resolve) => {
          timer = setTimeout(() => resolve(undefined), SAMPLE_TIMEOUT_MS);
        }),
      ]);
    } finally {
      clearTimeout(timer);
      this.release();
    }
  }

  private async sampleOnce(threadId: number): Promise<StackFrame[] | undefined> {
    this.busy.add(threadId);
    this.hold();
    try {
      this.connect();
      let call: (method: string, params?: object) => Promise<unknown>;
      if (threadId === 0) call = (m, p) => this.post(m, p);
      else {
        const sid = await this.workerSession(threadId);
        if (sid === undefined || this.closed) return undefined;
        call = (m, p) => this.postWorker(sid, m, p);
      }
      if (this.mode === 'debugger') {
        const frames = await this.pauseSample(threadId, call);
        if (frames !== undefined || this.closed) return frames;
        // The pause did not take (seen with tight optimized loops): fall back to a profiler window.
      }
      if (!this.profilerReady.has(threadId)) {
        await call('Profiler.enable');
        await call('Profiler.setSamplingInterval', { interval: 500 });
        this.profilerReady.add(threadId);
      }
      await call('Profiler.start');
      await new Promise((r) => setTimeout(r, WINDOW_MS));
      const res = (await call('Profiler.stop')) as { profile?: Profile } | undefined;
      return res?.profile === undefined ? undefined : lastStack(res.profile);
    } catch {
      return undefined;
    } finally {
      this.busy.delete(threadId);
      this.release();
    }
  }

  private async pauseSample(target: Target, call: (method: string, params?: object) => Promise<unknown>): Promise<StackFrame[] | undefined> {
    // Debugger.enable and Debugger.pause go out back to back (not awaiting the
    // enable reply): on a busy worker the pause then takes effect far more often.
    if (!this.debuggerReady.has(target)) {
      this.debuggerReady.add(target);
      void call('Debugger.enable');
    }
    return new Promise<StackFrame[] | undefined>((resolve) => {
      // A pause with no paused event yet must still be resumed: send a resume at
      // PAUSE_TIMEOUT_MS, but keep listening a while, since a late paused event
      // (seen at 250+ ms on a busy worker) still carries the frames (and is resumed
      // by onPaused as it arrives).
      const early = setTimeout(() => void call('Debugger.resume'), PAUSE_TIMEOUT_MS);
      const late = setTimeout(() => {
        this.pauseWaiters.delete(target);
        void call('Debugger.resume');
        resolve(undefined);
      }, LATE_PAUSE_MS);
      this.pauseWaiters.set(target, (frames) => {
        clearTimeout(early);
        clearTimeout(late);
        resolve(frames);
      });
      void call('Debugger.pause');
    });
  }

  /** Disables the domains and disconnects. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const s = this.session;
    if (s === undefined) return;
    this.hold();
    try {
      const calls: Promise<unknown>[] = [];
      for (const t of this.profilerReady) {
        if (t === 0) calls.push(this.post('Profiler.disable'));
        else {
          const sid = this.workerSessions.get(t);
          if (sid !== undefined) calls.push(this.postWorker(sid, 'Profiler.disable'));
        }
      }
      for (const t of this.debuggerReady) {
        if (t === 0) calls.push(this.post('Debugger.disable'));
        else {
          const sid = this.workerSessions.get(t);
          if (sid !== undefined) calls.push(this.postWorker(sid, 'Debugger.disable'));
        }
      }
      await Promise.all(calls);
      if (this.workersEnabled !== undefined) await this.post('NodeWorker.disable');
    } finally {
      this.release();
    }
    try {
      s.disconnect();
    } catch {
      // already gone
    }
    this.session = undefined;
  }
}
