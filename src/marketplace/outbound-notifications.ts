/**
 * Marketplace side: lifecycle notifications to a provider that fulfils a product itself,
 * in AWS Marketplace's SNS HTTP shape (`Type: Notification`, `Message` = a JSON string
 * with `action`, `customer-identifier`, `product-code`, plus `customer-aws-account-id` and
 * `license-arn`). Real SNS signs with X.509 certificates fetched from AWS; Tollgate instead
 * signs the POST with SigV4 (service `aws-marketplace`) using the provider's own
 * marketplace credentials, which both sides already hold, so the receiver verifies
 * without any extra secret.
 *
 * Delivery is at least once through an outbox (`marketplace_outbox`): `send` stores the
 * notification and tries it at once unless an earlier one for the same customer is still
 * waiting (order per customer matters: subscribe-success before unsubscribe-pending);
 * `deliverDue()` (the marketplace's sweep) retries with backoff 30 s × 2^n up to 1 h, for
 * at most 24 attempts, then marks it failed. The row id is the SNS MessageId, stable
 * across retries, so the receiver dedups. A 2xx is delivered; 4xx other than 408/429 is a
 * refusal that no retry will fix (failed, logged).
 */
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { request } from 'undici';
import type { Clock, Logger, OutboundPolicy } from '../shared/index.js';
import type { Db } from '../store/index.js';
import type { MarketplaceOutboxTable } from '../store/tables/marketplace.js';
import { MARKETPLACE_SIGNING_SERVICE } from './aws/wire.js';
import type { CredentialService } from './credentials.js';
import { eventId } from './ids.js';

export type LifecycleAction =
  | 'subscribe-success'
  | 'subscribe-fail'
  | 'unsubscribe-pending'
  | 'unsubscribe-success'
  | 'entitlement-updated';

export interface NotificationTarget {
  url: string;
  providerId: string;
  productCode: string;
  customerIdentifier: string;
  customerAWSAccountId: string;
  licenseArn: string;
}

export interface Notifier {
  /** Queues the notification and tries it now; true when it was delivered now. */
  send(target: NotificationTarget, action: LifecycleAction): Promise<boolean>;
  /** Delivers what is due, oldest first, keeping order per customer. Returns how many were delivered. */
  deliverDue(): Promise<number>;
}

const MAX_ATTEMPTS = 24;
const backoff = (attempts: number) => Math.min(3600_000, 30_000 * 2 ** Math.max(0, attempts - 1));

export function createNotifier(deps: {
  db: Db;
  credentials: CredentialService;
  clock: Clock;
  log: Logger;
  outbound: OutboundPolicy;
}): Notifier {
  const { db, clock, log } = deps;
  // Every connection, redirects included, is judged by the outbound policy.
  const dispatcher = deps.outbound.agent({ connectTimeoutMs: 10_000 });

  /** One attempt. `retry` false means a refusal that retrying cannot fix. */
  async function attempt(
    row: MarketplaceOutboxTable,
  ): Promise<{ ok: boolean; retry: boolean; error?: string }> {
    const creds = await deps.credentials.latestFor(row.provider_id);
    if (!creds) return { ok: false, retry: true, error: 'no live credentials to sign with' };
    const p = JSON.parse(row.payload) as NotificationTarget & { action: LifecycleAction };
    const topic = `arn:aws:sns:us-east-1:000000000000:aws-mp-subscription-notification-${p.productCode}`;
    const body = JSON.stringify({
      Type: 'Notification',
      MessageId: row.id,
      TopicArn: topic,
      Message: JSON.stringify({
        action: p.action,
        'customer-identifier': p.customerIdentifier,
        'customer-aws-account-id': p.customerAWSAccountId,
        'license-arn': p.licenseArn,
        'product-code': p.productCode,
      }),
      Timestamp: new Date(Number(row.created_at)).toISOString(),
      SignatureVersion: 'tollgate-sigv4',
    });
    const u = new URL(row.url);
    const signer = new SignatureV4({
      service: MARKETPLACE_SIGNING_SERVICE,
      region: 'us-east-1',
      credentials: { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey },
      sha256: Hash.bind(null, 'sha256'),
      applyChecksum: false,
    });
    try {
      const signed = await signer.sign(
        {
          method: 'POST',
          protocol: u.protocol,
          hostname: u.hostname,
          ...(u.port ? { port: Number(u.port) } : {}),
          path: u.pathname,
          query: Object.fromEntries(u.searchParams),
          headers: {
            host: u.host,
            'content-type': 'text/plain; charset=UTF-8',
            'x-amz-sns-message-type': 'Notification',
            'x-amz-sns-message-id': row.id,
            'x-amz-sns-topic-arn': topic,
          },
          body,
        },
        { signingDate: new Date(clock.now()) },
      );
      const res = await request(row.url, {
        dispatcher,
        method: 'POST',
        headers: signed.headers as Record<string, string>,
        body,
        headersTimeout: 10_000,
        bodyTimeout: 10_000,
      });
      await res.body.dump();
      if (res.statusCode < 300) return { ok: true, retry: false };
      const retry = res.statusCode >= 500 || res.statusCode === 408 || res.statusCode === 429;
      return { ok: false, retry, error: `HTTP ${res.statusCode}` };
    } catch (err) {
      return { ok: false, retry: true, error: (err as Error).message };
    }
  }

  async function run(row: MarketplaceOutboxTable): Promise<boolean> {
    const r = await attempt(row);
    const now = clock.now();
    const attempts = Number(row.attempts) + 1;
    if (r.ok) {
      await db
        .updateTable('marketplace_outbox')
        .set({ status: 'delivered', attempts, delivered_at: now, last_error: null })
        .where('id', '=', row.id)
        .execute();
      return true;
    }
    const failed = !r.retry || attempts >= MAX_ATTEMPTS;
    if (failed)
      log.error({ id: row.id, url: row.url, error: r.error }, 'marketplace notification failed for good');
    else
      log.warn(
        { id: row.id, url: row.url, error: r.error, attempts },
        'marketplace notification will be retried',
      );
    await db
      .updateTable('marketplace_outbox')
      .set({
        status: failed ? 'failed' : 'pending',
        attempts,
        next_attempt_at: now + backoff(attempts),
        last_error: r.error ?? null,
      })
      .where('id', '=', row.id)
      .execute();
    return false;
  }

  async function earlierPending(row: { id: string; customer_identifier: string }): Promise<boolean> {
    const r = await db
      .selectFrom('marketplace_outbox')
      .select('id')
      .where('customer_identifier', '=', row.customer_identifier)
      .where('status', '=', 'pending')
      .where('id', '<', row.id)
      .executeTakeFirst();
    return r !== undefined;
  }

  return {
    async send(target, action) {
      const now = clock.now();
      const row: MarketplaceOutboxTable = {
        id: eventId(now).replace(/^evt_/, 'ntf_'),
        provider_id: target.providerId,
        url: target.url,
        payload: JSON.stringify({ ...target, action }),
        customer_identifier: target.customerIdentifier,
        status: 'pending',
        attempts: 0,
        next_attempt_at: now,
        last_error: null,
        created_at: now,
        delivered_at: null,
      };
      await db.insertInto('marketplace_outbox').values(row).execute();
      if (await earlierPending(row)) return false;
      return run(row);
    },
    async deliverDue() {
      const due = await db
        .selectFrom('marketplace_outbox')
        .selectAll()
        .where('status', '=', 'pending')
        .where('next_attempt_at', '<=', clock.now())
        .orderBy('id')
        .limit(500)
        .execute();
      const blocked = new Set<string>();
      let delivered = 0;
      for (const row of due) {
        if (blocked.has(row.customer_identifier) || (await earlierPending(row))) {
          blocked.add(row.customer_identifier);
          continue;
        }
        if (await run(row)) delivered++;
        else blocked.add(row.customer_identifier);
      }
      return delivered;
    },
  };
}
