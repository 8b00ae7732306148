/**
 * Example 7: a log aggregation pipeline — "multiple producers writing log
 * lines, one consumer batching and flushing to disk. No shared state, no
 * locks, no races. Just messages flowing through a pipe."
 *
 * Four services (producers) share one log writer through clones of one
 * Sender. Routine lines are fire-and-forget; audit lines are durable: a
 * service waits until its audit line is on disk before going on, and while
 * one fdatasync is in flight the writer gathers everybody's next lines into
 * the next batch (group commit). The writer rotates its file every 64 KiB.
 * At the end the example reads the log back and checks it: every line once,
 * in order per service, every audit line present.
 *
 * Run: `node dist/examples/log-pipeline.js [folder]` (default: a temporary
 * folder, removed afterwards).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listSegments, openLog, type LogProducer } from 'weft/log';

const SERVICES = ['api', 'auth', 'billing', 'search'] as const;
const LINES_PER_SERVICE = 2_000;
const AUDIT_EVERY = 50; // every 50th line is an audit line, written durably

interface Record {
  readonly service: string;
  readonly seq: number;
  readonly level: 'info' | 'audit';
  readonly msg: string;
}

/** One service: logs its work; audit lines must be on disk before it goes on. */
async function service(name: string, log: LogProducer): Promise<{ audits: number }> {
  using mine = log; // closed when the service is done
  let audits = 0;
  for (let seq = 0; seq < LINES_PER_SERVICE; seq++) {
    const audit = seq % AUDIT_EVERY === AUDIT_EVERY - 1;
    const rec: Record = { service: name, seq, level: audit ? 'audit' : 'info', msg: audit ? `settled batch ${seq / AUDIT_EVERY}` : `handled request ${seq}` };
    const line = JSON.stringify(rec); // JSON never holds a raw newline: a safe log line
    if (audit) {
      await mine.writeDurable(line); // resolves once the line is on disk
      audits++;
    } else {
      await mine.write(line); // waits only when the writer is behind (backpressure)
    }
  }
  return { audits };
}

async function main(): Promise<void> {
  const given = process.argv[2];
  const dir = given ?? (await mkdtemp(join(tmpdir(), 'weft-log-pipeline-')));
  const path = join(dir, 'services.log');
  console.log(`log pipeline: ${SERVICES.length} services → bounded(256) → 1 log writer → ${path}`);

  const [log, writer] = await openLog(path, { capacity: 256, maxBytes: 64 * 1024 });
  if (writer.recovery.existed) {
    console.log(`  reopened an existing log (${writer.recovery.bytes} bytes; torn tail cut: ${writer.recovery.truncatedBytes} bytes)`);
  }
  const started = performance.now();
  const results = await Promise.all(SERVICES.map((name) => service(name, log.clone())));
  log.close(); // the services hold the clones; the writer ends when they are all closed
  const stats = await writer.done; // everything written and synced, file closed
  const ms = performance.now() - started;

  const audits = results.reduce((n, r) => n + r.audits, 0);
  console.log(`  services done in ${ms.toFixed(0)} ms: ${stats.lines} lines (${audits} durable audit lines)`);
  console.log(
    `  writer: ${stats.writes} batches (up to ${stats.largestBatch} lines each), ${stats.syncs} syncs ` +
      `(for ${audits} durable lines, rotations and close), ${stats.rotations} rotations, ${stats.bytes} bytes`,
  );

  // The final check: read every segment back, in order.
  const files = await listSegments(path);
  const next = new Map<string, number>(SERVICES.map((s) => [s, 0]));
  let total = 0;
  let auditsFound = 0;
  for (const file of files) {
    const text = await readFile(file, 'utf8');
    if (text.length > 0 && !text.endsWith('\n')) throw new Error(`${file} ends with a partial line`);
    for (const line of text.split('\n').slice(0, -1)) {
      const rec = JSON.parse(line) as Record;
      if (rec.seq !== next.get(rec.service)) throw new Error(`${rec.service}: expected seq ${next.get(rec.service)}, found ${rec.seq}`);
      next.set(rec.service, rec.seq + 1);
      if (rec.level === 'audit') auditsFound++;
      total++;
    }
  }
  console.log(`  on disk: ${files.length} segment(s): ${files.map((f) => f.slice(dir.length + 1)).join(', ')}`);
  const complete = [...next.values()].every((n) => n === LINES_PER_SERVICE);
  if (total !== SERVICES.length * LINES_PER_SERVICE || !complete || auditsFound !== audits) {
    throw new Error(`check failed: ${total} lines, ${auditsFound} audit lines, per service ${JSON.stringify([...next])}`);
  }
  console.log(`check: ok — ${total} lines, each service in order with none missing, all ${auditsFound} audit lines on disk`);
  if (given === undefined) await rm(dir, { recursive: true, force: true });
}

await main();
