/**
 * A throwaway `nats-server` for tests, examples and benchmarks: JetStream on,
 * its store in a fresh temporary directory, listening on 127.0.0.1 only, on a
 * free port (never 4222), with small JetStream limits. Started as a child
 * process and stopped by PID.
 *
 * Not part of the channel API: import it from `weft/nats` only in tests and
 * tooling.
 *
 * @example
 * ```ts
 * import { startServer, connect } from 'weft/nats';
 * const server = await startServer();
 * try {
 *   const link = await connect({ servers: server.url });
 *   // …
 *   await link.close();
 * } finally {
 *   await server.stop();
 * }
 * ```
 *
 * @module
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/**
 * Options of {@link startServer}.
 *
 * @example
 * ```ts
 * import { startServer, type ServerOptions } from 'weft/nats';
 * const options: ServerOptions = { token: 's3cret', maxPayload: 64 * 1024 };
 * const server = await startServer(options);
 * await server.stop();
 * ```
 */
export interface ServerOptions {
  /** Require this token from clients. */
  readonly token?: string;
  /** Require this user (with `pass`) from clients. */
  readonly user?: string;
  /** The password of `user`. */
  readonly pass?: string;
  /** Require NKey authentication with this user public key (`U…`). */
  readonly nkeyUser?: string;
  /** The server's `max_payload` in bytes (default: the server's, 1 MiB). */
  readonly maxPayload?: number;
  /** JetStream memory limit in bytes (default 64 MiB). */
  readonly maxMemory?: number;
  /** JetStream file-store limit in bytes (default 512 MiB). */
  readonly maxFile?: number;
  /** Client port; default: a free port chosen at start (never 4222). */
  readonly port?: number;
  /** JetStream store directory; default: a fresh temporary directory, removed by `stop()`. */
  readonly storeDir?: string;
  /** Path of the `nats-server` binary; default: {@link findServerBinary}. */
  readonly binary?: string;
  /** Give up starting after this many ms (default 10000). */
  readonly startTimeoutMs?: number;
}

/**
 * A running test server. Stop it with `stop()` (also on failure: use
 * `try/finally` or `await using`).
 *
 * @example
 * ```ts
 * import { startServer } from 'weft/nats';
 * await using server = await startServer();
 * console.log(server.url); // nats://127.0.0.1:<port>
 * ```
 */
export interface TestServer extends AsyncDisposable {
  /** `nats://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** Port of the monitoring endpoint (`/healthz`, `/varz`, `/jsz`). */
  readonly monitorPort: number;
  readonly storeDir: string;
  /** PID of the running server process (changes after `restart`). */
  readonly pid: number;
  /** True while the server process runs. */
  readonly running: boolean;
  /** Kills the server with SIGKILL (a crash: nothing is flushed) and waits for it to exit. */
  kill(): Promise<void>;
  /** Starts the server again on the same port and store (after `kill` or `stop({ keepStore: true })`). */
  restart(): Promise<void>;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s) and removes its temporary store unless `keepStore`. */
  stop(options?: { keepStore?: boolean }): Promise<void>;
}

/**
 * Where the `nats-server` binary is: `$NATS_SERVER`, then `PATH`, then the
 * usual install locations (`/usr/sbin`, `/usr/local/bin`, …). Undefined when
 * it is not installed.
 *
 * @example
 * ```ts
 * import { findServerBinary } from 'weft/nats';
 * console.log(findServerBinary() ?? 'install nats-server (apt-get install nats-server)');
 * ```
 */
export function findServerBinary(): string | undefined {
  const fromEnv = process.env.NATS_SERVER;
  if (fromEnv !== undefined && fromEnv !== '' && existsSync(fromEnv)) return fromEnv;
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/usr/local/bin', '/usr/bin', '/opt/homebrew/bin'];
  for (const dir of dirs) {
    if (dir === '') continue;
    const candidate = join(dir, 'nats-server');
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

/**
 * The version the binary reports (`nats-server --version`), e.g. `"2.9.10"`.
 *
 * @example
 * ```ts
 * import { findServerBinary, serverVersion } from 'weft/nats';
 * const bin = findServerBinary();
 * if (bin) console.log(serverVersion(bin));
 * ```
 */
export function serverVersion(binary: string): string | undefined {
  const r = spawnSync(binary, ['--version'], { encoding: 'utf8' });
  const m = /v?(\d+\.\d+\.\d+)/.exec(`${r.stdout ?? ''}${r.stderr ?? ''}`);
  return m?.[1];
}

/** A free TCP port on 127.0.0.1 (not 4222). */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = createServer();
      srv.unref();
      srv.on('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const addr = srv.address();
        const p = typeof addr === 'object' && addr !== null ? addr.port : 0;
        srv.close(() => resolve(p));
      });
    });
    if (port !== 4222 && port !== 0) return port;
  }
}

function quote(s: string): string {
  return JSON.stringify(s);
}

/**
 * Starts a `nats-server` with JetStream for tests. Resolves once its health
 * endpoint reports JetStream ready; rejects (with the server's output) if it
 * does not start, or if the binary is missing.
 *
 * @example
 * ```ts
 * import { startServer } from 'weft/nats';
 * const server = await startServer({ user: 'app', pass: 'pw' });
 * await server.kill();      // crash it…
 * await server.restart();   // …and bring it back on the same store
 * await server.stop();
 * ```
 */
export async function startServer(options: ServerOptions = {}): Promise<TestServer> {
  const binary = options.binary ?? findServerBinary();
  if (binary === undefined) {
    throw new Error('nats-server is not installed: install it (Debian/Ubuntu: apt-get install nats-server; or https://github.com/nats-io/nats-server/releases) or set NATS_SERVER to its path');
  }
  const ownStore = options.storeDir === undefined;
  const dir = mkdtempSync(join(tmpdir(), 'weft-nats-'));
  const storeDir = options.storeDir ?? join(dir, 'store');
  const port = options.port ?? (await freePort());
  const monitorPort = await freePort();
  const lines = [
    `listen: "127.0.0.1:${port}"`,
    `http: "127.0.0.1:${monitorPort}"`,
    `jetstream {`,
    `  store_dir: ${quote(storeDir)}`,
    `  max_memory_store: ${options.maxMemory ?? 64 * 1024 * 1024}`,
    `  max_file_store: ${options.maxFile ?? 512 * 1024 * 1024}`,
    `}`,
  ];
  if (options.maxPayload !== undefined) lines.push(`max_payload: ${options.maxPayload}`);
  if (options.token !== undefined) lines.push(`authorization { token: ${quote(options.token)} }`);
  else if (options.user !== undefined) lines.push(`authorization { user: ${quote(options.user)}, password: ${quote(options.pass ?? '')} }`);
  else if (options.nkeyUser !== undefined) lines.push(`authorization { users: [ { nkey: ${quote(options.nkeyUser)} } ] }`);
  const configFile = join(dir, 'server.conf');
  writeFileSync(configFile, lines.join('\n') + '\n');
  const startTimeout = options.startTimeoutMs ?? 10_000;

  let child: ChildProcess | undefined;
  let output = '';
  let exited: Promise<void> = Promise.resolve();

  async function launch(): Promise<void> {
    output = '';
    const c = spawn(binary!, ['-c', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    const append = (b: Buffer): void => {
      output = (output + b.toString()).slice(-8000);
    };
    c.stdout?.on('data', append);
    c.stderr?.on('data', append);
    exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    const deadline = Date.now() + startTimeout;
    let dead = false;
    void exited.then(() => (dead = true));
    for (;;) {
      if (dead) throw new Error(`nats-server exited at start:\n${output}`);
      if (Date.now() > deadline) {
        c.kill('SIGKILL');
        throw new Error(`nats-server did not become healthy within ${startTimeout} ms:\n${output}`);
      }
      try {
        const res = await fetch(`http://127.0.0.1:${monitorPort}/healthz?js-enabled-only=true`);
        if (res.ok) return;
      } catch {
        // not up yet
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  async function waitExit(ms: number): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)));
    const ok = await Promise.race([exited.then(() => true), timeout]);
    clearTimeout(timer);
    return ok;
  }

  const isRunning = (): boolean => child !== undefined && child.exitCode === null && child.signalCode === null;

  try {
    await launch();
  } catch (e) {
    if (ownStore) rmSync(dir, { recursive: true, force: true });
    throw e;
  }

  const server: TestServer = {
    url: `nats://127.0.0.1:${port}`,
    port,
    monitorPort,
    storeDir,
    get pid(): number {
      return child?.pid ?? -1;
    },
    get running(): boolean {
      return isRunning();
    },
    async kill(): Promise<void> {
      if (!isRunning()) return;
      process.kill(child!.pid!, 'SIGKILL');
      await waitExit(10_000);
    },
    async restart(): Promise<void> {
      if (isRunning()) await server.kill();
      // the port may linger briefly after a kill
      let lastError: unknown;
      for (let attempt = 0; attempt < 20; attempt++) {
        try {
          await launch();
          return;
        } catch (e) {
          lastError = e;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      throw lastError;
    },
    async stop(opts?: { keepStore?: boolean }): Promise<void> {
      if (isRunning()) {
        process.kill(child!.pid!, 'SIGTERM');
        if (!(await waitExit(5000)) && isRunning()) {
          process.kill(child!.pid!, 'SIGKILL');
          await waitExit(5000);
        }
      }
      if (!ownStore || opts?.keepStore !== true) rmSync(dir, { recursive: true, force: true });
    },
    [Symbol.asyncDispose](): Promise<void> {
      return server.stop();
    },
  };
  return server;
}
