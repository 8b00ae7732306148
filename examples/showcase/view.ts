/**
 * The showcase's live view. In a terminal it redraws a small table in place
 * a few times a second: each component with its message count and rate, each
 * channel with its depth against its capacity (a full channel is
 * backpressure), and the alerts as they arrive. Outside a terminal (CI, a
 * pipe) it prints one plain progress line per second and each alert on its
 * own line, so logs stay readable.
 *
 * The view only reads numbers the components publish through `count()` and
 * the channels' own inspectors (`len`, `capacity`); it never touches a
 * message.
 */

/** Something with a depth: any weft Sender or Receiver. */
export interface Gauge {
  readonly len: number;
  readonly capacity: number | undefined;
}

interface Meter {
  total: number;
  lastTotal: number;
  rate: number;
}

const BAR = 16;

export class LiveView {
  private readonly meters = new Map<string, Meter>();
  private readonly gauges = new Map<string, Gauge>();
  private readonly alerts: string[] = [];
  private readonly started = performance.now();
  private timer: ReturnType<typeof setInterval> | undefined;
  private drawn = 0;
  private lastTick = performance.now();
  private readonly tty: boolean;

  constructor(
    private readonly title: string,
    private readonly out: NodeJS.WriteStream = process.stdout,
  ) {
    this.tty = out.isTTY === true && process.env['CI'] === undefined;
  }

  /** Declares a component (rows appear in declaration order). */
  component(name: string): void {
    this.meters.set(name, { total: 0, lastTotal: 0, rate: 0 });
  }

  /** Declares a channel to watch. */
  channel(name: string, gauge: Gauge): void {
    this.gauges.set(name, gauge);
  }

  /** Counts `n` messages handled by `name`. */
  count(name: string, n = 1): void {
    const m = this.meters.get(name);
    if (m !== undefined) m.total += n;
  }

  /** Shows an alert at once. */
  alert(text: string): void {
    this.alerts.push(text);
    if (!this.tty) this.out.write(`  ! ${text}\n`);
    else this.draw();
  }

  /** Starts refreshing. */
  start(): void {
    this.out.write(`${this.title}\n`);
    const period = this.tty ? 250 : 1000;
    this.timer = setInterval(() => this.tick(), period);
  }

  /** Stops refreshing and draws the final state once more. */
  stop(): void {
    clearInterval(this.timer);
    this.tick();
  }

  private tick(): void {
    const t = performance.now();
    const dt = (t - this.lastTick) / 1000;
    this.lastTick = t;
    for (const m of this.meters.values()) {
      m.rate = dt > 0 ? (m.total - m.lastTotal) / dt : 0;
      m.lastTotal = m.total;
    }
    if (this.tty) this.draw();
    else this.line();
  }

  private elapsed(): string {
    return `${((performance.now() - this.started) / 1000).toFixed(1)} s`;
  }

  private line(): void {
    const parts = [...this.meters].map(([name, m]) => `${name} ${fmt(m.total)}`);
    const depths = [...this.gauges].map(([name, g]) => `${name} ${g.len}/${g.capacity ?? '∞'}`);
    this.out.write(`  [${this.elapsed()}] ${parts.join(' · ')} | queues ${depths.join(' ')}\n`);
  }

  private draw(): void {
    const lines: string[] = [`  elapsed ${this.elapsed()}`, '', '  component           handled      rate/s'];
    for (const [name, m] of this.meters) {
      lines.push(`  ${name.padEnd(16)} ${fmt(m.total).padStart(10)} ${fmt(Math.round(m.rate)).padStart(11)}`);
    }
    lines.push('', '  channel             depth');
    for (const [name, g] of this.gauges) {
      const cap = g.capacity;
      const filled = cap === undefined || cap === 0 ? 0 : Math.round((Math.min(g.len, cap) / cap) * BAR);
      const bar = cap === undefined ? '' : `[${'#'.repeat(filled)}${'.'.repeat(BAR - filled)}]`;
      const full = cap !== undefined && cap > 0 && g.len >= cap ? '  backpressure' : '';
      lines.push(`  ${name.padEnd(16)} ${`${g.len}/${cap ?? '∞'}`.padStart(9)} ${bar}${full}`);
    }
    lines.push('', `  alerts (${this.alerts.length})`);
    for (const a of this.alerts.slice(-6)) lines.push(...a.split('\n').slice(0, 4).map((l) => `    ${l}`));
    // Move up over the previous frame and clear it, then draw this one.
    const up = this.drawn > 0 ? `\x1b[${this.drawn}F\x1b[J` : '';
    this.out.write(up + lines.join('\n') + '\n');
    this.drawn = lines.length;
  }
}

function fmt(n: number): string {
  return n.toLocaleString('en');
}
