/**
 * Signed webhooks through a transactional outbox.
 *
 * `emit` writes one outbox row per enabled endpoint of the provider, in the caller's
 * transaction: the event exists exactly when the state change that caused it committed.
 * `deliverDue` drains due rows: it claims a row by moving its next_attempt_at forward
 * (compare-and-set, so two processes never send the same row at once), POSTs the body with
 * undici and a timeout, and records 2xx as delivered; anything else (status, timeout,
 * refused connection) is retried with exponential backoff (base × 2^(attempt−1), capped)
 * until `maxAttempts`, after which the row is marked failed. Delivery is at-least-once:
 * receivers dedupe on the event id (`id` in the body, `Tollgate-Event-Id` header), which
 * stays the same across retries. Signatures: see signature.ts.
 *
 * Signing secrets are stored sealed with the installation secret (src/shared/seal.ts): a
 * database dump alone does not reveal them. Rows from before migration 014 are sealed by
 * `sealStoredSecrets`, which every start runs.
 *
 * Endpoint URLs are judged by the outbound policy when written (400 naming `url`) and on
 * every delivery connection (docs/outbound.md); `lastError` never tells one kind of
 * connection failure from another.
 */
import { randomBytes } from 'node:crypto';
import { type Clock, type Logger, newId, OutboundPolicy, sealingKey } from '../shared/index.js';
import type { Db, Store } from '../store/index.js';
import { createDelivery, type Delivery } from './delivery.js';
import { createEndpoints, type Endpoints } from './endpoints.js';

export type { DeliverResult } from './delivery.js';
export {
  type EndpointInput,
  type EndpointView,
  endpointInputSchema,
  endpointUpdateSchema,
} from './endpoints.js';
export { SIGNATURE_HEADER, sign, signatureHeader, type VerifyResult, verifySignature } from './signature.js';

export interface EventBody<T = unknown> {
  id: string;
  type: string;
  created: number;
  provider_id: string;
  data: T;
}

export interface DeliveryView {
  id: string;
  eventId: string;
  type: string;
  url: string;
  attempts: number;
  status: 'pending' | 'delivered' | 'failed';
  nextAttemptAt: number | null;
  lastStatus: number | null;
  lastError: string | null;
}

export interface Webhooks extends Endpoints, Delivery {
  /** Queues an event for every enabled endpoint of the provider; returns the event id. */
  emit(providerId: string, type: string, payload: unknown, tx?: Db, eventId?: string): Promise<string>;
  listDeliveries(providerId: string, options?: { eventId?: string; limit?: number }): Promise<DeliveryView[]>;
}

export interface WebhookOptions {
  store: Store;
  clock: Clock;
  log: Logger;
  timeoutMs?: number;
  maxAttempts?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  userAgent?: string;
  /** Judges endpoint URLs when written and every delivery connection. Default: nothing private. */
  outbound?: OutboundPolicy;
  /**
   * The installation secret that seals signing secrets at rest (configuration, never the
   * database). Default: a random key for this process only — secrets written with it cannot
   * be opened after a restart, so only tests leave it out.
   */
  secretKey?: string | Buffer;
}
export function createWebhooks(options: WebhookOptions): Webhooks {
  const { store, clock, log } = options;
  const db = store.db;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const outbound = options.outbound ?? new OutboundPolicy();
  const key = sealingKey(options.secretKey ?? randomBytes(32));
  const endpoints = createEndpoints({ db, clock, log, outbound, key });
  const delivery = createDelivery({
    db,
    clock,
    log,
    timeoutMs,
    maxAttempts: options.maxAttempts ?? 12,
    base: options.backoffBaseMs ?? 30_000,
    cap: options.backoffMaxMs ?? 6 * 3_600_000,
    userAgent: options.userAgent ?? 'Tollgate-Webhooks/1',
    dispatcher: outbound.agent({ connectTimeoutMs: timeoutMs }),
    signingSecret: endpoints.signingSecret,
  });

  return {
    deliverDue: delivery.deliverDue,
    startDelivery: delivery.startDelivery,
    addEndpoint: endpoints.addEndpoint,
    listEndpoints: endpoints.listEndpoints,
    updateEndpoint: endpoints.updateEndpoint,
    rotateSecret: endpoints.rotateSecret,
    removeEndpoint: endpoints.removeEndpoint,
    sealStoredSecrets: endpoints.sealStoredSecrets,
    async emit(providerId, type, payload, tx, eventId) {
      const q = tx ?? db;
      const id = eventId ?? newId('evt', clock.now());
      const created = clock.now();
      const endpoints = await q
        .selectFrom('webhook_endpoints')
        .select(['id', 'url'])
        .where('provider_id', '=', providerId)
        .where('enabled', '=', 1)
        .execute();
      if (endpoints.length === 0) return id;
      const body: EventBody = { id, type, created, provider_id: providerId, data: payload };
      const text = JSON.stringify(body);
      await q
        .insertInto('webhook_outbox')
        .values(
          endpoints.map((e) => ({
            id: `${id}.${e.id}`,
            event_id: id,
            provider_id: providerId,
            endpoint_id: e.id,
            type,
            payload: text,
            url: e.url,
            attempts: 0,
            next_attempt_at: created,
            delivered_at: null,
            failed_at: null,
            last_status: null,
            last_error: null,
            created_at: created,
          })),
        )
        .onConflict((oc) => oc.columns(['event_id', 'endpoint_id']).doNothing())
        .execute();
      return id;
    },
    async listDeliveries(providerId, { eventId, limit = 100 } = {}) {
      let q = db
        .selectFrom('webhook_outbox')
        .selectAll()
        .where('provider_id', '=', providerId)
        .orderBy('id', 'desc')
        .limit(Math.min(limit, 500));
      if (eventId) q = q.where('event_id', '=', eventId);
      const rows = await q.execute();
      return rows.map((r) => ({
        id: r.id,
        eventId: r.event_id,
        type: r.type,
        url: r.url,
        attempts: r.attempts,
        status: r.delivered_at !== null ? 'delivered' : r.failed_at !== null ? 'failed' : 'pending',
        nextAttemptAt: r.next_attempt_at,
        lastStatus: r.last_status,
        lastError: r.last_error,
      }));
    },
  };
}
