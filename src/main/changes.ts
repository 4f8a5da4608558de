/**
 * Config-change fan-out across processes. In one process the catalog's onChange callback
 * reloads the snapshot directly; with Redis configured, every change is also published on
 * one channel and every gateway process reloads when it hears it. Pub/sub is fire-and-forget,
 * so the periodic full reload (config `snapshotRefreshMs`) stays as the safety net, and a
 * reconnect triggers a reload in case messages were missed while disconnected.
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
