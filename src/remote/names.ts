/**
 * How a named channel maps to NATS subjects and JetStream streams.
 *
 * For channel `jobs` with prefix `weft`:
 * - data stream `weft-ch-jobs` (work-queue retention) on subject `weft.ch.jobs.m`,
 *   with one durable pull consumer `weft` shared by every receiver;
 * - presence stream `weft-pr-jobs` (last record per subject) on
 *   `weft.ch.jobs.p.<side>.<instance>`: who holds Senders and Receivers;
 * - room hints (core NATS, not stored) on `weft.ch.jobs.room`.
 *
 * @internal
 */

const NAME = /^[A-Za-z0-9_-]{1,64}$/;

export function checkName(what: string, name: string): void {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new RangeError(`${what}: a name is 1 to 64 characters among A-Z a-z 0-9 _ -; got ${JSON.stringify(name)}`);
  }
}

export class ChannelNames {
  readonly dataStream: string;
  readonly presenceStream: string;
  readonly dataSubject: string;
  readonly presenceSubjects: string;
  readonly roomSubject: string;
  readonly consumer = 'weft';

  constructor(
    readonly prefix: string,
    readonly name: string,
  ) {
    this.dataStream = `${prefix}-ch-${name}`;
    this.presenceStream = `${prefix}-pr-${name}`;
    this.dataSubject = `${prefix}.ch.${name}.m`;
    this.presenceSubjects = `${prefix}.ch.${name}.p.>`;
    this.roomSubject = `${prefix}.ch.${name}.room`;
  }

  presenceSubject(side: 'send' | 'recv', instance: string): string {
    return `${this.prefix}.ch.${this.name}.p.${side}.${instance}`;
  }
}
