/** Small helpers shared by the tests. */

/** Lets every pending microtask and one macrotask turn run. */
export function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Tracks a promise so a test can ask, synchronously, whether it settled. */
export function track<T>(p: Promise<T>): { readonly settled: boolean; readonly value?: T; readonly error?: unknown; promise: Promise<T> } {
  const state: { settled: boolean; value?: T; error?: unknown; promise: Promise<T> } = { settled: false, promise: p };
  p.then(
    (v) => {
      state.settled = true;
      state.value = v;
    },
    (e: unknown) => {
      state.settled = true;
      state.error = e;
    },
  );
  return state;
}

/** Rejects if `p` does not settle within `ms` (a hang guard, not a timing assertion). */
export function guard<T>(p: Promise<T>, ms = 5000, what = 'operation'): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Active timer handles (Timeout/Immediate) in this process. */
export function activeTimers(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
}
