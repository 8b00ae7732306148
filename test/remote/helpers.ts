/**
 * Shared helpers of the remote (NATS) tests: one throwaway nats-server per
 * test file (127.0.0.1, free port, temp store, stopped by PID in `after`,
 * also when tests fail), and a loud skip when the binary is missing — except
 * under CI (`CI=true`), where a missing server is a failure.
 */
import { after, before, test, type TestContext } from 'node:test';
import { connect, findServerBinary, startServer, type ConnectOptions, type Link, type ServerOptions, type TestServer } from '../../src/remote/index.js';

export const NATS_BINARY = findServerBinary();
const UNDER_CI = process.env.CI === 'true';
export const SKIP: string | false =
  NATS_BINARY === undefined && !UNDER_CI ? 'nats-server is not installed (apt-get install nats-server, or set NATS_SERVER)' : false;

let warned = false;
function warnMissing(): void {
  if (warned || NATS_BINARY !== undefined) return;
  warned = true;
  process.stderr.write(
    '\n' +
      '**********************************************************************\n' +
      '* SKIPPING the remote (NATS) tests: nats-server is not installed.    *\n' +
      '* Install it:  apt-get install nats-server   (Debian/Ubuntu)         *\n' +
      '*          or  https://github.com/nats-io/nats-server/releases       *\n' +
      '* or point NATS_SERVER at the binary. Under CI=true this is a fail.  *\n' +
      '**********************************************************************\n\n',
  );
}

/** Starts one server for the calling test file; returns a getter. */
export function useServer(options?: ServerOptions): () => TestServer {
  let server: TestServer | undefined;
  before(async () => {
    if (NATS_BINARY === undefined) {
      warnMissing();
      if (UNDER_CI) throw new Error('CI=true but nats-server is not installed: .ci/run installs it (apt-get install nats-server)');
      return;
    }
    server = await startServer(options);
  });
  after(async () => {
    await server?.stop();
  });
  return () => {
    if (server === undefined) throw new Error('no server');
    return server;
  };
}

/** A test that needs the server (skipped loudly without it). */
export function rtest(name: string, fn: (t: TestContext) => Promise<void>, timeoutMs = 60_000): void {
  test(name, { skip: SKIP, timeout: timeoutMs }, fn);
}

let n = 0;
/** A channel name unique to this run. */
export function uniq(base: string): string {
  return `${base}-${process.pid}-${++n}-${Math.random().toString(36).slice(2, 7)}`;
}

/** Connects with test-friendly defaults. */
export function link(server: TestServer, options?: ConnectOptions): Promise<Link> {
  return connect({ servers: server.url, graceMs: 1500, ackWaitMs: 5000, lingerMs: 300, ...options });
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `cond` until true (a hang guard, not a timing assertion). */
export async function until(cond: () => boolean | Promise<boolean>, ms = 20_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`${what} not reached within ${ms} ms`);
    await sleep(20);
  }
}
