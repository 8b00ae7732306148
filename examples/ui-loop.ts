/**
 * Example 13 (article 003, "Telex's use of channels"): a terminal UI loop
 * fed by background tasks through a channel.
 *
 * Two background tasks — a simulated file watcher and a simulated network
 * listener — each hold a clone of one Sender and push events into the UI's
 * channel whenever something happens. The UI loop owns the Receiver and
 * waits, in one select, on: those events, a frame ticker (`tick`), and the
 * keyboard. An event only updates the model; the next tick re-renders, and
 * only if something changed. When both background tasks are done (their
 * Senders closed), the events case reports the end and the UI exits.
 *
 * In a terminal it redraws a small live panel in place, and `q` quits
 * early. Outside a terminal (a pipe, CI) there is no keyboard case — it is
 * switched off with `never()` — and it prints plain lines instead.
 *
 * Run: `node dist/examples/ui-loop.js` (add `--plain` for plain lines in a terminal)
 */
import { after, bounded, never, select, tick, type Receiver, type Sender } from 'weft';

interface UiEvent {
  readonly source: 'files' | 'net';
  readonly seq: number;
  readonly text: string;
}

const FRAME_MS = 40;
const PER_TASK = 6;

// ---------------------------------------------------------------- background tasks

/** A stand-in for a file watcher: reports a change now and then. */
async function fileWatcher(out: Sender<UiEvent>): Promise<void> {
  using tx = out; // closed when the task ends: the UI learns it through the channel
  const files = ['src/app.ts', 'src/view.ts', 'README.md'];
  for (let seq = 0; seq < PER_TASK; seq++) {
    await after(15 + ((seq * 37) % 50)).recv(); // the outside world's own pace
    await tx.send({ source: 'files', seq, text: `changed ${files[seq % files.length]}` });
  }
}

/** A stand-in for a network listener: reports incoming messages. */
async function networkListener(out: Sender<UiEvent>): Promise<void> {
  using tx = out;
  for (let seq = 0; seq < PER_TASK; seq++) {
    await after(10 + ((seq * 53) % 70)).recv();
    await tx.send({ source: 'net', seq, text: `message ${seq + 1} from peer-${(seq % 2) + 1}` });
  }
}

// ---------------------------------------------------------------- the view

interface Model {
  readonly counts: { files: number; net: number };
  readonly recent: UiEvent[];
  readonly all: UiEvent[];
  dirty: boolean;
  renders: number;
}

interface View {
  event(e: UiEvent): void;
  render(m: Model, final: boolean): void;
  close(): void;
}

/** Plain lines: one per event and one per render, nothing redrawn. */
function plainView(): View {
  return {
    event: (e) => console.log(`  [${e.source}] ${e.text}`),
    render: (m, final) =>
      console.log(`${final ? 'final render' : `render #${m.renders}`}: files ${m.counts.files}, net ${m.counts.net}, ${m.all.length} events`),
    close: () => {},
  };
}

/** A live panel redrawn in place. */
function terminalView(): View {
  let drawn = 0;
  return {
    event: () => {},
    render(m, final) {
      const lines = [
        `┌ weft ui loop ── frame every ${FRAME_MS} ms ── q quits ┐`,
        `  files: ${String(m.counts.files).padStart(2)}   net: ${String(m.counts.net).padStart(2)}   renders: ${m.renders}`,
        ...m.recent.map((e) => `  ${e.source === 'files' ? '📄' : '🌐'} ${e.text}`),
        final ? '└ done' : '└',
      ];
      let out = drawn > 0 ? `\x1b[${drawn}A` : '';
      for (const l of lines) out += `\x1b[2K${l}\n`;
      process.stdout.write(out);
      drawn = lines.length;
    },
    close: () => {},
  };
}

/** Key presses as a channel (terminal only); `never()` elsewhere, which switches the case off. */
function keyboard(): { keys: Receiver<string>; close(): void } {
  if (!process.stdin.isTTY) return { keys: never<string>(), close: () => {} };
  const [tx, keys] = bounded<string>(8);
  const onData = (buf: Buffer): void => void tx.offer(buf.toString()); // a full queue drops keys, never blocks
  process.stdin.setRawMode(true);
  process.stdin.on('data', onData);
  return {
    keys,
    close() {
      process.stdin.off('data', onData);
      process.stdin.setRawMode(false);
      process.stdin.pause();
      tx.close();
      keys.close();
    },
  };
}

// ---------------------------------------------------------------- the UI loop

async function main(): Promise<void> {
  const plain = !process.stdout.isTTY || process.argv.includes('--plain');
  const view = plain ? plainView() : terminalView();
  const kb = plain ? { keys: never<string>(), close: () => {} } : keyboard();
  if (plain) console.log(`ui loop: 2 background tasks → bounded(16) → one select over events, a ${FRAME_MS} ms tick and the keyboard`);

  const [tx, events] = bounded<UiEvent>(16);
  const tasks = Promise.all([fileWatcher(tx.clone()), networkListener(tx.clone())]);
  tx.close(); // the tasks hold the only Senders: the channel ends when they do

  const model: Model = { counts: { files: 0, net: 0 }, recent: [], all: [], dirty: true, renders: 0 };
  using frames = tick(FRAME_MS);
  let ending = 'background tasks done';
  for (let running = true; running; ) {
    const r = await select({ event: events, frame: frames, key: kb.keys });
    switch (r.case) {
      case 'event':
        if (!r.ok) {
          running = false; // every background task closed its Sender
          break;
        }
        model.counts[r.value.source]++;
        model.all.push(r.value);
        model.recent.push(r.value);
        if (model.recent.length > 5) model.recent.shift();
        model.dirty = true;
        view.event(r.value);
        break;
      case 'frame':
        if (model.dirty) {
          model.renders++;
          view.render(model, false);
          model.dirty = false;
        }
        break;
      case 'key':
        if (r.ok && (r.value === 'q' || r.value === '\u0003')) {
          ending = 'quit by key';
          running = false;
        }
        break;
    }
  }
  view.render(model, true);
  kb.close();
  events.close(); // after an early quit this makes the tasks' sends fail instead of waiting forever
  await tasks.catch(() => {}); // after an early quit a task's send fails: nobody listens any more

  console.log(`${ending}: ${model.all.length} events from 2 background tasks, ${model.renders} renders on ${FRAME_MS} ms ticks`);
  if (ending === 'background tasks done') {
    const inOrder = (source: UiEvent['source']): boolean =>
      model.all.filter((e) => e.source === source).every((e, i) => e.seq === i);
    if (model.all.length !== 2 * PER_TASK || !inOrder('files') || !inOrder('net') || model.renders > model.all.length + 1) {
      throw new Error(`check failed: ${JSON.stringify(model)}`);
    }
    console.log(`check: ok — every event reached the UI once and in order per task; renders only on ticks with news`);
  }
}

await main();
