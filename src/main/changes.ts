/**
 * Change fan-out across processes. Every committed catalog change has a number in the
 * store's change log (src/store/changes.ts); a gateway only needs to hear "there is a
 * change N" to catch up from the log itself (src/gateway/snapshot-holder.ts).
 *
 * - In one process the catalog's onChange callback passes the number on directly.
 * - With Redis, the number is also published on one channel (`<node>|<seq>`) and every
 *   other process catches up when it hears it: typically within milliseconds.
 * - Pub/sub is fire-and-forget and silent when Redis is down or hung. The subscriber pings
 *   Redis every `PING_MS`; while it is not subscribed or no answer came for `LIVE_MS`, the
 *   bus is not live and the process polls the change log every `POLL_MS` instead (one
 *   indexed query). So a change reaches every gateway within about a second whether or not
 *   Redis carries it: `POLL_MS` plus the time to notice Redis is gone (at once when the
 *   connection drops, up to `LIVE_MS` when Redis hangs with the connection open).
 * - A reconnect catches up at once, and the periodic full reload (`snapshotRefreshMs`)
 *   stays as the last safety net.
 *
 * The messages are plain numbers so that a process can relay them unchanged.
 *
 * The workers of `serve --workers N` without Redis use the IPC channel to their primary
 * instead (channelChangeBus): a worker's change number goes to the primary, which applies
 * it to its own snapshot and relays it to every other worker (cluster.ts); each worker
 * calls `notify(seq)` on its own snapshot holder. IPC delivers every message while the
 * channel is up (and a worker without its primary stops), so that bus is always live and
 * nothing polls.
 */
import { Redis } from 'ioredis';
import type { Logger } from '../shared/index.js';

export const CHANGES_CHANNEL = 'tollgate:changes';
export const POLL_MS = 1_000;
const PING_MS = 500;
const LIVE_MS = 1_500;

export interface ChangeBus {
  /** Tells the other processes that change `seq` was committed. */
  publish(seq: number): void;
  /** True while changes published elsewhere are known to reach this process. */
  live(): boolean;
  close(): Promise<void>;
}

/** `onChange(seq)`: another process committed change `seq`; no number: look in the log. */
export function redisChangeBus(
  url: string,
  node: string,
  onChange: (seq?: number) => void,
  log: Logger,
): ChangeBus {
  const pub = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: false });
  const sub = new Redis(url, { maxRetriesPerRequest: null });
  let subscribed = false;
  let lastPong = 0;
  pub.on('error', (err) => log.warn({ err: err.message }, 'redis (publish) error'));
  sub.on('error', (err) => log.warn({ err: err.message }, 'redis (subscribe) error'));
  sub.on('close', () => {
    subscribed = false;
  });
  // ioredis subscribes again on reconnect; a change published meanwhile was missed.
  sub.on('ready', () => {
    subscribed = true;
    lastPong = Date.now();
    onChange();
  });
  void sub
    .subscribe(CHANGES_CHANNEL)
    .then(() => {
      subscribed = true;
      lastPong = Date.now();
    })
    .catch((err: Error) => log.warn({ err: err.message }, 'subscribe failed'));
  sub.on('message', (_channel, message: string) => {
    const bar = message.indexOf('|');
    if (message.slice(0, bar) === node) return;
    const seq = Number(message.slice(bar + 1));
    onChange(Number.isSafeInteger(seq) ? seq : undefined);
  });
  const ping = setInterval(() => {
    if (sub.status !== 'ready') return;
    sub.ping().then(
      () => {
        lastPong = Date.now();
      },
      () => {},
    );
  }, PING_MS);
  ping.unref();
  return {
    publish(seq) {
      pub
        .publish(CHANGES_CHANNEL, `${node}|${seq}`)
        .catch((err: Error) => log.warn({ err: err.message }, 'publish failed'));
    },
    live: () => subscribed && sub.status === 'ready' && Date.now() - lastPong < LIVE_MS,
    async close() {
      clearInterval(ping);
      sub.disconnect();
      pub.disconnect();
    },
  };
}

/**
 * No fan-out (one process, or processes on one database without Redis): never live, so the
 * change log is polled all the time.
 */
export const NO_BUS: ChangeBus = { publish() {}, live: () => false, close: async () => {} };

/**
 * Polls the change log (`catchUp()`) every `POLL_MS` while `bus` is not live (always with
 * NO_BUS). Returns the stop function.
 */
export function pollWhileQuiet(bus: ChangeBus, catchUp: () => void): () => void {
  const timer = setInterval(() => {
    if (!bus.live()) catchUp();
  }, POLL_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/** A change message between a worker and its primary: change `seq` was committed. */
export interface ChangeMessage {
  tg: 'change';
  seq: number;
}

export function isChangeMessage(m: unknown): m is ChangeMessage {
  return (
    typeof m === 'object' &&
    m !== null &&
    (m as ChangeMessage).tg === 'change' &&
    Number.isSafeInteger((m as ChangeMessage).seq)
  );
}

/** A worker's bus over its IPC channel to the primary (`process.send`). */
export function channelChangeBus(
  proc: NodeJS.Process,
  onChange: (seq?: number) => void,
  log: Logger,
): ChangeBus {
  const listener = (m: unknown) => {
    if (isChangeMessage(m)) onChange(m.seq);
  };
  proc.on('message', listener);
  return {
    publish(seq) {
      if (!proc.connected || !proc.send) return;
      proc.send({ tg: 'change', seq } satisfies ChangeMessage, undefined, {}, (err: Error | null) => {
        if (err) log.warn({ err: err.message, seq }, 'change not sent to the primary');
      });
    },
    // IPC does not drop messages; a worker whose primary is gone stops (cluster.ts).
    live: () => true,
    async close() {
      proc.off('message', listener);
    },
  };
}
