/**
 * Delivery of the webhook outbox. `deliverDue` drains due rows: it claims a row by moving its
 * next_attempt_at forward (compare-and-set, so two processes never send the same row at
 * once), POSTs the body with undici and a timeout, and records 2xx as delivered; anything
 * else (status, timeout, refused connection) is retried with exponential backoff
 * (base × 2^(attempt−1), capped) until `maxAttempts`, after which the row is marked failed.
 * Every connection is judged by the outbound policy (docs/outbound.md); `lastError` never
 * tells one kind of connection failure from another.
 */
import { type Dispatcher, fetch } from 'undici';
import { type Clock, type Logger, outboundRefusal } from '../shared/index.js';
import type { Db } from '../store/index.js';
import type { SigningSecret } from './endpoints.js';
import { SIGNATURE_HEADER, signatureHeader } from './signature.js';

export interface DeliverResult {
  delivered: number;
  retrying: number;
  failed: number;
}

export interface DeliveryDeps {
  db: Db;
  clock: Clock;
  log: Logger;
  timeoutMs: number;
  maxAttempts: number;
  /** Backoff: the first retry after `base` ms, doubling up to `cap`. */
  base: number;
  cap: number;
  userAgent: string;
  dispatcher: Dispatcher;
  signingSecret: SigningSecret;
}

export interface Delivery {
  /** Sends what is due now; returns counts. */
  deliverDue(options?: { limit?: number }): Promise<DeliverResult>;
  /** Runs deliverDue every `intervalMs` until the returned stop() is called. */
  startDelivery(intervalMs?: number): () => Promise<void>;
}

export function createDelivery(deps: DeliveryDeps): Delivery {
  const { db, clock, log, timeoutMs, maxAttempts, base, cap, userAgent, dispatcher, signingSecret } = deps;

  async function deliverOne(row: {
    id: string;
    event_id: string;
    type: string;
    payload: string;
    url: string;
    attempts: number;
    endpoint_id: string;
    next_attempt_at: number | null;
  }): Promise<'delivered' | 'retrying' | 'failed' | 'skipped'> {
    const now = clock.now();
    // claim: push next_attempt_at past the timeout; only one claimant wins the CAS
    const claimed = await db
      .updateTable('webhook_outbox')
      .set({ next_attempt_at: now + timeoutMs * 2 })
      .where('id', '=', row.id)
      .where('next_attempt_at', '=', row.next_attempt_at)
      .where('delivered_at', 'is', null)
      .executeTakeFirst();
    if (Number(claimed.numUpdatedRows) !== 1) return 'skipped';
    const endpoint = await db
      .selectFrom('webhook_endpoints')
      .select(['secret', 'secret_sealed', 'enabled'])
      .where('id', '=', row.endpoint_id)
      .executeTakeFirst();
    let status: number | null = null;
    let error: string | null = null;
    const secret = endpoint ? signingSecret(row.endpoint_id, endpoint) : null;
    if (!endpoint) error = 'endpoint removed';
    else if (secret === null) error = 'signing secret cannot be opened';
    else {
      try {
        const t = Math.floor(clock.now() / 1000);
        const res = await fetch(row.url, {
          method: 'POST',
          body: row.payload,
          headers: {
            'content-type': 'application/json',
            'user-agent': userAgent,
            [SIGNATURE_HEADER]: signatureHeader(secret, t, row.payload),
            'Tollgate-Event-Id': row.event_id,
            'Tollgate-Event-Type': row.type,
          },
          signal: AbortSignal.timeout(timeoutMs),
          redirect: 'manual',
          dispatcher,
        });
        status = res.status;
        await res.body?.cancel().catch(() => {});
        if (status < 200 || status >= 300) error = `HTTP ${status}`;
      } catch (e) {
        error = deliveryError(e);
      }
    }
    const attempts = row.attempts + 1;
    const at = clock.now();
    if (error === null) {
      await db
        .updateTable('webhook_outbox')
        .set({ attempts, delivered_at: at, next_attempt_at: null, last_status: status, last_error: null })
        .where('id', '=', row.id)
        .execute();
      return 'delivered';
    }
    const giveUp = attempts >= maxAttempts || !endpoint;
    await db
      .updateTable('webhook_outbox')
      .set({
        attempts,
        next_attempt_at: giveUp ? null : at + Math.min(cap, base * 2 ** (attempts - 1)),
        failed_at: giveUp ? at : null,
        last_status: status,
        last_error: error.slice(0, 500),
      })
      .where('id', '=', row.id)
      .execute();
    log.warn({ event: row.event_id, url: row.url, attempts, error, giveUp }, 'webhook delivery failed');
    return giveUp ? 'failed' : 'retrying';
  }

  const api: Delivery = {
    async deliverDue({ limit = 100 } = {}) {
      const due = await db
        .selectFrom('webhook_outbox')
        .select(['id', 'event_id', 'type', 'payload', 'url', 'attempts', 'endpoint_id', 'next_attempt_at'])
        .where('next_attempt_at', '<=', clock.now())
        .where('delivered_at', 'is', null)
        .orderBy('next_attempt_at')
        .limit(limit)
        .execute();
      const result: DeliverResult = { delivered: 0, retrying: 0, failed: 0 };
      for (let i = 0; i < due.length; i += 8) {
        const outcomes = await Promise.all(due.slice(i, i + 8).map(deliverOne));
        for (const o of outcomes) if (o !== 'skipped') result[o]++;
      }
      return result;
    },

    startDelivery(intervalMs = 5000) {
      let running: Promise<unknown> = Promise.resolve();
      let busy = false;
      const timer = setInterval(() => {
        if (busy) return;
        busy = true;
        running = api
          .deliverDue()
          .catch((e) => log.error({ err: e }, 'webhook delivery loop failed'))
          .finally(() => {
            busy = false;
          });
      }, intervalMs);
      timer.unref();
      return async () => {
        clearInterval(timer);
        await running;
      };
    },
  };
  return api;
}

/**
 * What a failed delivery records in `lastError`, which the provider reads. A refused
 * address says only that; connection failures are one message whatever the cause (refused,
 * reset, unreachable), so the delivery log cannot be used to tell open ports from closed.
 */
function deliveryError(e: unknown): string {
  const refused = outboundRefusal(e);
  if (refused) return refused.message;
  if (e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError')) return 'timed out';
  return 'could not connect';
}
