/**
 * JetStream management for named channels: the data stream (work-queue
 * retention, `max_msgs` = capacity with discard `new`), its one durable pull
 * consumer, and the presence stream. Creating is idempotent, so processes
 * that open the same channel at the same time all succeed; opening an
 * existing channel with another capacity is refused.
 *
 * Only features of nats-server 2.9 are used (single filter subject,
 * `max_msgs_per_subject`, `Nats-Msg-Id` dedupe, pull requests with
 * `batch`/`expires`).
 *
 * @internal
 */
import { AckPolicy, DeliverPolicy, DiscardPolicy, RetentionPolicy, StorageType, type StreamInfo } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { RemoteError } from './errors.js';
import type { Link } from './link.js';
import type { ChannelNames } from './names.js';

/** What the opener asks for. */
export interface ChannelSpec {
  /** A capacity, `null` for unbounded, `undefined` to take the existing channel as it is. */
  capacity: number | null | undefined;
  ackWaitMs: number;
  storage: 'file' | 'memory';
  replicas: number;
}

function isNotFound(e: unknown): boolean {
  const code = (e as { api_error?: { err_code?: number }; code?: number } | null)?.api_error?.err_code;
  if (code === 10059 || code === 10014) return true;
  const msg = e instanceof Error ? e.message : String(e);
  return /not found/i.test(msg);
}

async function streamInfo(link: Link, name: string): Promise<StreamInfo | null> {
  try {
    return await link.jsm.streams.info(name);
  } catch (e) {
    if (isNotFound(e)) return null;
    throw wrap(e, `reading stream ${name}`);
  }
}

function wrap(e: unknown, what: string): RemoteError {
  if (e instanceof RemoteError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new RemoteError('jetstream', `${what} failed: ${msg}`, { cause: e });
}

/** Creates what is missing; returns the channel's capacity (undefined: unbounded). */
export async function ensureChannel(link: Link, names: ChannelNames, spec: ChannelSpec): Promise<number | undefined> {
  let info = await streamInfo(link, names.dataStream);
  if (info === null) {
    if (spec.capacity === undefined) {
      throw new RemoteError('config', `remote channel "${names.name}" does not exist yet; create it with link.bounded(name, capacity) or link.unbounded(name)`);
    }
    try {
      info = await link.jsm.streams.add({
        name: names.dataStream,
        subjects: [names.dataSubject],
        retention: RetentionPolicy.Workqueue,
        max_msgs: spec.capacity ?? -1,
        discard: DiscardPolicy.New,
        storage: spec.storage === 'memory' ? StorageType.Memory : StorageType.File,
        num_replicas: spec.replicas,
        duplicate_window: nanos(120_000),
      });
    } catch (e) {
      info = await streamInfo(link, names.dataStream); // another process made it first?
      if (info === null) throw wrap(e, `creating the stream of channel "${names.name}"`);
    }
  }
  const cfg = info.config;
  if (cfg.retention !== RetentionPolicy.Workqueue) {
    throw new RemoteError('config', `stream ${names.dataStream} exists but is not a work-queue stream: it was not made by weft`);
  }
  const existing = cfg.max_msgs === undefined || cfg.max_msgs < 0 ? null : cfg.max_msgs;
  if (spec.capacity !== undefined && spec.capacity !== existing) {
    const has = existing === null ? 'unbounded' : `capacity ${existing}`;
    const wants = spec.capacity === null ? 'unbounded' : `capacity ${spec.capacity}`;
    throw new RemoteError('config', `remote channel "${names.name}" exists as ${has}; cannot open it as ${wants} (link.delete(name) removes it)`);
  }
  try {
    await link.jsm.consumers.info(names.dataStream, names.consumer);
  } catch (e) {
    if (!isNotFound(e)) throw wrap(e, `reading the consumer of channel "${names.name}"`);
    try {
      await link.jsm.consumers.add(names.dataStream, {
        durable_name: names.consumer,
        ack_policy: AckPolicy.Explicit,
        ack_wait: nanos(spec.ackWaitMs),
        deliver_policy: DeliverPolicy.All,
        max_ack_pending: 20_000,
        max_waiting: 512,
      });
    } catch (e2) {
      try {
        await link.jsm.consumers.info(names.dataStream, names.consumer);
      } catch {
        throw wrap(e2, `creating the consumer of channel "${names.name}"`);
      }
    }
  }
  const pres = await streamInfo(link, names.presenceStream);
  if (pres === null) {
    try {
      await link.jsm.streams.add({
        name: names.presenceStream,
        subjects: [names.presenceSubjects],
        retention: RetentionPolicy.Limits,
        max_msgs_per_subject: 1,
        discard: DiscardPolicy.Old,
        storage: spec.storage === 'memory' ? StorageType.Memory : StorageType.File,
        num_replicas: spec.replicas,
        max_age: nanos(link.settings.presenceTtlMs),
      });
    } catch (e) {
      if ((await streamInfo(link, names.presenceStream)) === null) throw wrap(e, `creating the presence stream of channel "${names.name}"`);
    }
  }
  return existing ?? undefined;
}

/** Deletes a channel's streams. Resolves true if the data stream existed. */
export async function deleteChannel(link: Link, names: ChannelNames): Promise<boolean> {
  let existed = false;
  for (const s of [names.dataStream, names.presenceStream]) {
    try {
      const ok = await link.jsm.streams.delete(s);
      if (s === names.dataStream) existed = ok;
    } catch (e) {
      if (!isNotFound(e)) throw wrap(e, `deleting stream ${s}`);
    }
  }
  return existed;
}
