/**
 * The tasks of the pool benchmark, the same module for every pool: a
 * trivial task and a ~1 ms CPU task (busy for 1 ms of wall time, so the
 * ideal rate does not depend on how the machine shares its cores).
 */

/** The trivial task. */
export default function inc(x: number): number {
  return x + 1;
}

/** Keeps its thread busy for `ms` milliseconds. */
export function spin(ms: number): number {
  const end = performance.now() + ms;
  let n = 0;
  while (performance.now() < end) n++;
  return n;
}
