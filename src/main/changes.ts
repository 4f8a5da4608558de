/**
 * Config-change fan-out across processes. In one process the catalog's onChange callback
 * reloads the snapshot directly; with Redis configured, every change is also published on
 * one channel and every gateway process reloads when it hears it. Pub/sub is fire-and-forget,
 * so the periodic full reload (config `snapshotRefreshMs`) stays as the safety net, and a
 * reconnect triggers a reload in case messages were missed while disconnected.
 *
 * The workers of `serve --workers N` without Redis use the IPC channel to their primary
 * instead (channelChangeBus): a worker's change goes to the primary, which reloads its own
 * snapshot and relays the change to every other worker (cluster.ts).
 */
import { Redis } from 'ioredis';
import type { Logger } from '../shared/index.js';

export const CHANGES_CHANNEL = 'tollgate:changes';

export interface ChangeBus {
  publish(what: string): void;
  close(): Promise<void>;
}

export function redisChangeBus(url: string, node: string, onChange: () => void, log: Logger): ChangeBus {
  const pub = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: false });
  const sub = new Redis(url, { maxRetriesPerRequest: null });
  pub.on('error', (err) => log.warn({ err: err.message }, 'redis (publish) error'));
  sub.on('error', (err) => log.warn({ err: err.message }, 'redis (subscribe) error'));
  sub.on('ready', () => onChange());
  void sub
    .subscribe(CHANGES_CHANNEL)
    .catch((err: Error) => log.warn({ err: err.message }, 'subscribe failed'));
  sub.on('message', (_channel, message: string) => {
    if (!message.startsWith(`${node}|`)) onChange();
  });
  return {
    publish(what) {
      pub
        .publish(CHANGES_CHANNEL, `${node}|${what}`)
        .catch((err: Error) => log.warn({ err: err.message }, 'publish failed'));
    },
    async close() {
      sub.disconnect();
      pub.disconnect();
    },
  };
}

/** A change message between a worker and its primary. */
export interface ChangeMessage {
  tg: 'change';
  what: string;
}

export function isChangeMessage(m: unknown): m is ChangeMessage {
  return typeof m === 'object' && m !== null && (m as ChangeMessage).tg === 'change';
}

/** A worker's bus over its IPC channel to the primary (`process.send`). */
export function channelChangeBus(proc: NodeJS.Process, onChange: () => void, log: Logger): ChangeBus {
  const listener = (m: unknown) => {
    if (isChangeMessage(m)) onChange();
  };
  proc.on('message', listener);
  return {
    publish(what) {
      if (!proc.connected || !proc.send) return;
      proc.send({ tg: 'change', what } satisfies ChangeMessage, undefined, {}, (err: Error | null) => {
        if (err) log.warn({ err: err.message }, 'change not sent to the primary');
      });
    },
    async close() {
      proc.off('message', listener);
    },
  };
}
