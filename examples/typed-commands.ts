/**
 * Example 9 (article 002, "Typed Channels with Enums"): typed commands
 * handled by an actor, with shutdown.
 *
 * Rust's `enum Command { Process(String), Shutdown }` is a discriminated
 * union here, and `match` is a `switch` on its `type`, which TypeScript
 * narrows and checks for exhaustiveness.
 *
 * Part 1 is the article's worker, written by hand: a loop over `recv()`
 * that processes, shuts down on `shutdown`, or reports that the channel
 * closed unexpectedly (every Sender gone without a `shutdown`). It runs
 * twice, to show both endings.
 *
 * Part 2 is the same idea with `actor()`: one handler per command type
 * (checked against the union: a missing or mistyped handler does not
 * compile), and commands that carry a reply Sender get their handler's
 * return value as the answer through `call()`. `shutdown` replies, then
 * stops the actor; commands queued behind it are refused, and a later
 * call fails at once with `ActorGoneError` instead of hanging.
 *
 * Run: `node dist/examples/typed-commands.js`
 */
import { actor, ActorGoneError, bounded, call, RecvError, type Receiver, type Sender } from 'weft';

// ---------------------------------------------------------------- part 1

type Command = { readonly type: 'process'; readonly data: string } | { readonly type: 'shutdown' };

/** The article's worker: returns how it ended. */
async function worker(name: string, input: Receiver<Command>): Promise<'shutdown' | 'closed unexpectedly'> {
  using rx = input;
  for (;;) {
    let cmd: Command;
    try {
      cmd = await rx.recv();
    } catch (e) {
      if (!(e instanceof RecvError)) throw e;
      console.log(`  ${name}: channel closed unexpectedly`);
      return 'closed unexpectedly';
    }
    switch (cmd.type) {
      case 'process':
        console.log(`  ${name}: processing ${cmd.data}`);
        break;
      case 'shutdown':
        console.log(`  ${name}: shutting down`);
        return 'shutdown';
    }
  }
}

async function handWritten(): Promise<void> {
  console.log('part 1: a worker looping over typed commands');
  {
    const [tx, rx] = bounded<Command>(8);
    const done = worker('worker A', rx);
    await tx.send({ type: 'process', data: 'task-1' });
    await tx.send({ type: 'process', data: 'task-2' });
    await tx.send({ type: 'shutdown' });
    const how = await done;
    tx.close();
    if (how !== 'shutdown') throw new Error(`worker A ended by ${how}`);
  }
  {
    const [tx, rx] = bounded<Command>(8);
    const done = worker('worker B', rx);
    await tx.send({ type: 'process', data: 'task-3' });
    tx.close(); // the last Sender goes away without a shutdown command
    const how = await done;
    if (how !== 'closed unexpectedly') throw new Error(`worker B ended by ${how}`);
  }
  console.log('  check: ok — worker A stopped on its shutdown command, worker B saw its channel close');
}

// ---------------------------------------------------------------- part 2

interface Stats {
  readonly processed: number;
  readonly bytes: number;
}

/** The actor's commands: the reply types come from the `reply` Senders. */
type JobCommand =
  | { readonly type: 'process'; readonly data: string }
  | { readonly type: 'stats'; readonly reply: Sender<Stats> }
  | { readonly type: 'shutdown'; readonly reply: Sender<Stats> };

async function withActor(): Promise<void> {
  console.log('part 2: the same commands served by an actor, with replies');
  const [tx, rx] = bounded<JobCommand>(16);
  const jobs = actor(
    rx,
    {
      init: () => ({ processed: 0, bytes: 0 }),
      handlers: {
        process: (s, cmd) => {
          s.processed++;
          s.bytes += cmd.data.length;
        },
        stats: (s) => ({ ...s }),
        shutdown: (s, _cmd, ctx) => {
          ctx.stop(); // the reply (the final stats) still goes out, then the actor stops
          return { ...s };
        },
      },
      cleanup: (s, stop) => {
        console.log(`  actor: stopped (${stop.reason}) after ${s.processed} commands`);
        return s.processed;
      },
    },
    { name: 'jobs' },
  );

  for (const data of ['alpha', 'beta', 'gamma']) await tx.send({ type: 'process', data });
  const stats = await call(tx, (reply) => ({ type: 'stats', reply }), { timeout: 10_000 });
  console.log(`  caller: stats → ${stats.processed} processed, ${stats.bytes} bytes`);

  await tx.send({ type: 'process', data: 'delta' });
  // Queue a command behind the shutdown: the actor will refuse it, not lose it silently.
  const final = call(tx, (reply) => ({ type: 'shutdown', reply }), { timeout: 10_000 });
  const behind = call(tx, (reply) => ({ type: 'stats', reply }), { timeout: 10_000 }).then(
    () => 'answered',
    (e: unknown) => (e instanceof ActorGoneError ? `ActorGoneError (${e.kind})` : `unexpected: ${String(e)}`),
  );
  const last = await final;
  console.log(`  caller: shutdown → final stats ${last.processed} processed, ${last.bytes} bytes`);
  const queued = await behind;
  console.log(`  caller: the stats request queued behind the shutdown → ${queued}`);

  const exit = await jobs.done;
  let late: string;
  try {
    await call(tx, (reply) => ({ type: 'stats', reply }), { timeout: 10_000 });
    late = 'answered';
  } catch (e) {
    late = e instanceof ActorGoneError ? `ActorGoneError (${e.kind})` : `unexpected: ${String(e)}`;
  }
  console.log(`  caller: a call after the actor stopped → ${late}`);
  tx.close();

  const ok =
    stats.processed === 3 && stats.bytes === 'alphabetagamma'.length &&
    last.processed === 4 && last.bytes === 'alphabetagammadelta'.length &&
    exit.reason === 'quit' && exit.result === 4 &&
    queued === 'ActorGoneError (no-reply)' && late === 'ActorGoneError (undelivered)';
  if (!ok) throw new Error(`part 2 check failed: ${JSON.stringify({ stats, last, exit, queued, late })}`);
  console.log('  check: ok — replies typed per command, shutdown answered, nothing left hanging after it');
}

await handWritten();
await withActor();
