// Pool task module for the monitor tests: spins for `ms` in a named function.
function spinInPoolTask(ms: number): number {
  const end = Date.now() + ms;
  let x = 0;
  while (Date.now() < end) for (let i = 0; i < 1000; i++) x = (x + i) % 1000003;
  return x >= 0 ? ms : -1;
}

export default function task(ms: number): number {
  return spinInPoolTask(ms);
}
