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
import { fetch } from 'undici';
import { z } from 'zod';
import { randomSecret } from '../keys/index.js';
import {
  type Clock,
  type Logger,
  newId,
  notFound,
  OutboundPolicy,
  outboundRefusal,
  seal,
  sealingKey,
  TollgateError,
  unseal,
} from '../shared/index.js';
import type { Db, Store } from '../store/index.js';
import { SIGNATURE_HEADER, signatureHeader } from './signature.js';

export { SIGNATURE_HEADER, sign, signatureHeader, type VerifyResult, verifySignature } from './signature.js';

export const endpointInputSchema = z.object({
  url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).max(2000),
  /** Omit to have one generated (returned once). */
  secret: z.string().min(16).max(200).optional(),
  enabled: z.boolean().default(true),
});
export type EndpointInput = z.input<typeof endpointInputSchema>;
/** A change: only what is sent changes (no defaults, so a URL edit never re-enables an endpoint). */
export const endpointUpdateSchema = z.object({
  url: endpointInputSchema.shape.url.optional(),
  secret: endpointInputSchema.shape.secret,
  enabled: z.boolean().optional(),
});

export interface EndpointView {
  id: string;
  providerId: string;
  url: string;
  enabled: boolean;
  createdAt: number;
}

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

export interface DeliverResult {
  delivered: number;
  retrying: number;
  failed: number;
}

export interface Webhooks {
  /** Queues an event for every enabled endpoint of the provider; returns the event id. */
  emit(providerId: string, type: string, payload: unknown, tx?: Db, eventId?: string): Promise<string>;
  /** Sends what is due now; returns counts. */
  deliverDue(options?: { limit?: number }): Promise<DeliverResult>;
  /** Runs deliverDue every `intervalMs` until the returned stop() is called. */
  startDelivery(intervalMs?: number): () => Promise<void>;
  addEndpoint(providerId: string, input: EndpointInput): Promise<EndpointView & { secret: string }>;
  listEndpoints(providerId: string): Promise<EndpointView[]>;
  updateEndpoint(id: string, input: Partial<EndpointInput>): Promise<EndpointView>;
  rotateSecret(id: string): Promise<{ secret: string }>;
  removeEndpoint(id: string): Promise<void>;
  /** Seals signing secrets still stored in clear (rows from before migration 014); returns how many. */
  sealStoredSecrets(): Promise<number>;
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
  const maxAttempts = options.maxAttempts ?? 12;
  const base = options.backoffBaseMs ?? 30_000;
  const cap = options.backoffMaxMs ?? 6 * 3_600_000;
  const userAgent = options.userAgent ?? 'Tollgate-Webhooks/1';
  const outbound = options.outbound ?? new OutboundPolicy();
  const dispatcher = outbound.agent({ connectTimeoutMs: timeoutMs });
  const key = sealingKey(options.secretKey ?? randomBytes(32));
  /** The columns a signing secret is stored in: sealed, the clear column emptied. */
  const stored = (secret: string) => ({ secret: '', secret_sealed: seal(key, secret) });

  /** The signing secret of an endpoint row; null when it cannot be opened (logged). */
  function signingSecret(endpointId: string, row: { secret: string; secret_sealed: string | null }) {
    if (row.secret_sealed === null) return row.secret; // written before 014, not sealed yet
    try {
      return unseal(key, row.secret_sealed);
    } catch (err) {
      log.error(
        { err, endpointId },
        'webhook signing secret cannot be opened: was the installation secret changed?',
      );
      return null;
    }
  }

  const view = (r: {
    id: string;
    provider_id: string;
    url: string;
    enabled: number;
    created_at: number;
  }) => ({
    id: r.id,
    providerId: r.provider_id,
    url: r.url,
    enabled: r.enabled === 1,
    createdAt: r.created_at,
  });

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

  const api: Webhooks = {
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

    async addEndpoint(providerId, input) {
      const p = parse(endpointInputSchema, input);
      await outbound.assert('url', p.url);
      const now = clock.now();
      const secret = p.secret ?? `whsec_${randomSecret()}`;
      const row = {
        id: newId('whk', now),
        provider_id: providerId,
        url: p.url,
        ...stored(secret),
        enabled: p.enabled ? 1 : 0,
        created_at: now,
        updated_at: now,
      };
      await db.insertInto('webhook_endpoints').values(row).execute();
      return { ...view(row), secret };
    },

    async listEndpoints(providerId) {
      const rows = await db
        .selectFrom('webhook_endpoints')
        .select(['id', 'provider_id', 'url', 'enabled', 'created_at'])
        .where('provider_id', '=', providerId)
        .orderBy('id')
        .execute();
      return rows.map(view);
    },

    async updateEndpoint(id, input) {
      const p = parse(endpointUpdateSchema, input);
      if (p.url !== undefined) await outbound.assert('url', p.url);
      const set: Record<string, unknown> = { updated_at: clock.now() };
      if (p.url !== undefined) set.url = p.url;
      if (p.secret !== undefined) Object.assign(set, stored(p.secret));
      if (p.enabled !== undefined) set.enabled = p.enabled ? 1 : 0;
      const r = await db.updateTable('webhook_endpoints').set(set).where('id', '=', id).executeTakeFirst();
      if (Number(r.numUpdatedRows) === 0) throw notFound('webhook endpoint', id);
      const row = await db
        .selectFrom('webhook_endpoints')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirstOrThrow();
      return view(row);
    },

    async rotateSecret(id) {
      const secret = `whsec_${randomSecret()}`;
      const r = await db
        .updateTable('webhook_endpoints')
        .set({ ...stored(secret), updated_at: clock.now() })
        .where('id', '=', id)
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) === 0) throw notFound('webhook endpoint', id);
      return { secret };
    },

    async sealStoredSecrets() {
      const clear = await db
        .selectFrom('webhook_endpoints')
        .select(['id', 'secret'])
        .where('secret_sealed', 'is', null)
        .execute();
      for (const r of clear) {
        await db
          .updateTable('webhook_endpoints')
          .set(stored(r.secret))
          .where('id', '=', r.id)
          .where('secret_sealed', 'is', null) // another process may have sealed it meanwhile
          .execute();
      }
      if (clear.length) log.info({ endpoints: clear.length }, 'webhook signing secrets sealed');
      return clear.length;
    },

    async removeEndpoint(id) {
      const r = await db.deleteFrom('webhook_endpoints').where('id', '=', id).executeTakeFirst();
      if (Number(r.numDeletedRows) === 0) throw notFound('webhook endpoint', id);
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

/** zod → a VALIDATION_FAILED error naming each bad field. */
function parse<T extends z.ZodType>(schema: T, input: unknown): z.output<T> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => ({ field: i.path.join('.') || '(body)', message: i.message }));
  throw new TollgateError(
    'VALIDATION_FAILED',
    issues.map((i) => `${i.field}: ${i.message}`).join('; '),
    issues,
  );
}
