/**
 * Provider side: lifecycle notifications from the external marketplace, in AWS
 * Marketplace's SNS HTTP shape (https://docs.aws.amazon.com/marketplace/latest/userguide/saas-notification.html):
 * `{"Type":"Notification","MessageId":…,"Message":"{\"action\":…,\"customer-identifier\":…,\"product-code\":…}"}`
 * (camel-case `CustomerIdentifier`/`ProductCode` accepted too).
 *
 * Authentication — SNS's own X.509 signatures need AWS's certificates, which this host
 * cannot fetch, so one of:
 * - SigV4 (service `aws-marketplace`) with the marketplace credentials in configuration:
 *   a Tollgate marketplace signs this way with the very credentials it issued us;
 * - `x-tollgate-signature: t=<unix seconds>,v1=<hex HMAC-SHA256(notificationSecret, t + "." + body)>`
 *   for a relay (e.g. an SQS consumer in front of real AWS), ±5 minutes.
 * Anything else is 401. SubscriptionConfirmation/UnsubscribeConfirmation are acknowledged
 * and ignored. Each MessageId is processed once (a redelivery answers 200 `duplicate`); a
 * processing fault releases the MessageId so the sender's retry runs it again.
 *
 * Actions: subscribe-success → activate (keys on) or remember it for onboarding;
 * subscribe-fail → a pending subscription is cancelled; unsubscribe-pending →
 * cancel_pending, flush the meter and export now (final records within AWS's hour);
 * unsubscribe-success → export now (a failure is logged and counted; the exporter's next
 * run picks the ended subscription up), cancelled, keys disabled; entitlement-updated → GetEntitlements,
 * and a plan change when the entitled dimension names another plan of the product.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { GetEntitlementsCommand } from '@aws-sdk/client-marketplace-entitlement-service';
import { type IncomingRequest, verifySigV4 } from '../aws/index.js';
import { reportFault } from '../shared/index.js';
import { AwsError } from './aws/errors.js';
import { MARKETPLACE_SIGNING_SERVICE } from './aws/wire.js';
import type { OnboardingDeps } from './onboarding.js';
import { MARKETPLACE_ACTOR } from './ports.js';

const ACTIONS = [
  'subscribe-success',
  'subscribe-fail',
  'unsubscribe-pending',
  'unsubscribe-success',
  'entitlement-updated',
];
const LIVE = ['pending', 'trialing', 'active', 'cancel_pending', 'suspended'];

interface Reply {
  status: number;
  body: Record<string, unknown>;
}

async function authenticate(deps: OnboardingDeps, req: IncomingRequest): Promise<string | null> {
  const cfg = deps.config;
  if (req.headers.authorization?.startsWith('AWS4-HMAC-SHA256')) {
    try {
      await verifySigV4(req, {
        service: MARKETPLACE_SIGNING_SERVICE,
        clock: deps.clock,
        resolve: async (id) => (id === cfg.accessKeyId ? { secretAccessKey: cfg.secretAccessKey } : null),
      });
      return null;
    } catch (e) {
      return e instanceof AwsError ? e.type : 'InvalidSignatureException';
    }
  }
  const sig = req.headers['x-tollgate-signature'];
  if (sig && cfg.notificationSecret) {
    const t = /(?:^|,)t=(\d+)/.exec(sig)?.[1];
    const v1 = /(?:^|,)v1=([0-9a-f]{64})/.exec(sig)?.[1];
    if (!t || !v1) return 'malformed signature';
    if (Math.abs(deps.clock.now() / 1000 - Number(t)) > 300) return 'signature expired';
    const want = createHmac('sha256', cfg.notificationSecret).update(`${t}.${req.body}`).digest('hex');
    return timingSafeEqual(Buffer.from(want), Buffer.from(v1)) ? null : 'signature mismatch';
  }
  return 'missing signature';
}

export async function handleNotification(deps: OnboardingDeps, req: IncomingRequest): Promise<Reply> {
  const refused = await authenticate(deps, req);
  if (refused) return { status: 401, body: { message: `notification not authenticated: ${refused}` } };
  let envelope: Record<string, unknown>;
  let message: Record<string, unknown>;
  try {
    envelope = JSON.parse(req.body);
    if (envelope.Type === 'SubscriptionConfirmation' || envelope.Type === 'UnsubscribeConfirmation') {
      return { status: 200, body: { outcome: 'ignored', reason: `${envelope.Type} is not needed here` } };
    }
    if (envelope.Type !== 'Notification')
      return { status: 400, body: { message: 'Type: must be Notification' } };
    message =
      typeof envelope.Message === 'string'
        ? JSON.parse(envelope.Message)
        : (envelope.Message as Record<string, unknown>);
  } catch {
    return { status: 400, body: { message: 'body: not an SNS JSON message' } };
  }
  const messageId = envelope.MessageId;
  const action = message?.action;
  const customer = (message['customer-identifier'] ??
    message.CustomerIdentifier ??
    message['customer-aws-account-id'] ??
    message.CustomerAWSAccountId) as unknown;
  const productCode = (message['product-code'] ?? message.ProductCode) as unknown;
  if (typeof messageId !== 'string' || messageId === '' || messageId.length > 200) {
    return { status: 400, body: { message: 'MessageId: required' } };
  }
  if (typeof action !== 'string' || !ACTIONS.includes(action)) {
    return { status: 400, body: { message: `Message.action: must be one of ${ACTIONS.join(', ')}` } };
  }
  if (typeof customer !== 'string' || typeof productCode !== 'string') {
    return { status: 400, body: { message: 'Message: customer-identifier and product-code are required' } };
  }
  const { db, clock } = deps;
  const claimed = await db
    .insertInto('marketplace_notifications')
    .values({
      message_id: messageId,
      action,
      customer_identifier: customer,
      product_code: productCode,
      body: JSON.stringify(message),
      outcome: 'processing',
      received_at: clock.now(),
    })
    .onConflict((oc) => oc.column('message_id').doNothing())
    .executeTakeFirst();
  if (Number(claimed.numInsertedOrUpdatedRows ?? 0n) === 0)
    return { status: 200, body: { outcome: 'duplicate' } };
  try {
    const outcome = await apply(deps, action, customer, productCode);
    await db
      .updateTable('marketplace_notifications')
      .set({ outcome })
      .where('message_id', '=', messageId)
      .execute();
    return { status: 200, body: { outcome } };
  } catch (err) {
    deps.log.error({ err, action, messageId }, 'marketplace notification failed');
    await db.deleteFrom('marketplace_notifications').where('message_id', '=', messageId).execute();
    return { status: 500, body: { message: 'notification could not be processed; retry' } };
  }
}

async function apply(
  deps: OnboardingDeps,
  action: string,
  customer: string,
  productCode: string,
): Promise<string> {
  const { db, lifecycle } = deps;
  const product = await deps.products.byExternalCode(productCode);
  if (!product) return 'ignored: unknown product';
  const sub = await db
    .selectFrom('subscriptions as s')
    .innerJoin('consumers as c', 'c.id', 's.consumer_id')
    .select(['s.id', 's.status', 's.plan_id'])
    .where('c.external_customer_id', '=', customer)
    .where('s.plan_id', 'in', product.planIds.length ? product.planIds : [''])
    .where('s.status', 'in', LIVE)
    .orderBy('s.created_at', 'desc')
    .executeTakeFirst();
  if (!sub)
    return action === 'subscribe-success' ? 'deferred: applied at onboarding' : 'ignored: no subscription';
  switch (action) {
    case 'subscribe-success':
      await lifecycle.activate(sub.id, MARKETPLACE_ACTOR, { via: action });
      return 'activated';
    case 'subscribe-fail':
      if (sub.status !== 'pending') return 'ignored: subscription already confirmed';
      await lifecycle.finish(sub.id);
      return 'cancelled';
    case 'unsubscribe-pending':
      await lifecycle.markCancelPending(sub.id);
      await deps.flushUsage?.();
      await deps.exporter?.flushNow(sub.id);
      return 'cancel_pending: usage flushed';
    case 'unsubscribe-success':
      // The subscription ends whatever happens here: the exporter keeps planning it until
      // the hour it ended in is exported, so a failed final export is retried, not lost.
      await deps.exporter?.flushNow(sub.id).catch((err) =>
        reportFault(
          deps.log,
          'marketplace.final_export',
          err,
          'final export at unsubscribe failed; the next export run retries it',
          {
            subscriptionId: sub.id,
          },
        ),
      );
      await lifecycle.finish(sub.id);
      return 'cancelled: keys disabled';
    default: {
      const ext = await db
        .selectFrom('subscriptions as s')
        .innerJoin('consumers as c', 'c.id', 's.consumer_id')
        .select('c.external')
        .where('s.id', '=', sub.id)
        .executeTakeFirstOrThrow();
      const e = JSON.parse(ext.external || '{}') as Record<string, string>;
      const filter = e.CustomerIdentifier
        ? { CUSTOMER_IDENTIFIER: [e.CustomerIdentifier] }
        : { CUSTOMER_AWS_ACCOUNT_ID: [customer] };
      const out = await deps.clients.entitlements.send(
        new GetEntitlementsCommand({ ProductCode: productCode, Filter: filter }),
      );
      const plan = (out.Entitlements ?? [])
        .map((x) => x.Dimension)
        .find((d) => d && product.planIds.includes(d));
      const loaded = { id: sub.id, provider_id: product.providerId };
      await lifecycle.record(loaded, 'entitlements_updated', sub.status, sub.status, MARKETPLACE_ACTOR, {
        entitlements: (out.Entitlements ?? []).map((x) => ({
          dimension: x.Dimension,
          value: x.Value,
          expires: x.ExpirationDate,
        })),
      });
      if (plan && plan !== sub.plan_id && ['trialing', 'active'].includes(sub.status)) {
        await lifecycle.changePlan(sub.id, plan);
        return `plan changed to ${plan}`;
      }
      return 'entitlements recorded';
    }
  }
}
