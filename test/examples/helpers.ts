/** Runs a compiled example the way a user would: `node dist/examples/<name>.js`. */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface ExampleRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout split into lines, without the trailing empty one. */
  readonly lines: string[];
}

/** Path of a compiled example (`name` relative to examples/, without `.js`). */
export function examplePath(name: string): string {
  return fileURLToPath(new URL(`../../examples/${name}.js`, import.meta.url));
}

/** Runs the example in a fresh node process; resolves with its exit code and output (never rejects on a non-zero exit). */
export function runExample(name: string, args: string[] = [], env: NodeJS.ProcessEnv = {}, timeout = 60_000): Promise<ExampleRun> {
  // A plain process, as a user would start it: not a child of the test runner.
  const { NODE_TEST_CONTEXT: _runner, ...inherited } = process.env;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [examplePath(name), ...args], { timeout, env: { ...inherited, ...env } }, (error, stdout, stderr) => {
      if (error !== null && typeof error.code !== 'number') return reject(error); // killed by the timeout, or could not start
      resolve({ code: error === null ? 0 : (error.code as number), stdout, stderr, lines: stdout.split('\n').filter((l) => l !== '') });
    });
  });
}
