/**
 * Provider side: onboarding buyers who come from an external marketplace (AWS's SaaS
 * fulfilment flow, https://docs.aws.amazon.com/marketplace/latest/userguide/saas-product-customer-setup.html).
 *
 *   buyer's browser ──POST x-amzn-marketplace-token──▶ /marketplace/register
 *     ─▶ ResolveCustomer (official client, configured endpoint + credentials)
 *     ─▶ product whose externalProductCode = ProductCode (else 400)
 *     ─▶ consumer linked by CustomerIdentifier (or CustomerAWSAccountId), created if new,
 *        keeping CustomerIdentifier, CustomerAWSAccountId, LicenseArn, ProductCode
 *     ─▶ subscription on the product's first plan: `active` if `subscribe-success` was
 *        already received for this customer, else `pending` (AWS: do not meter before it)
 *     ─▶ key provisioned (enabled once active) ─▶ HTML page showing it once.
 * Invalid token → 400 page, expired/reused → 410 page, marketplace down → 502 page; never
 * a stack trace. A buyer who comes back with a new token gets a new key on the same
 * subscription. Notifications: ./inbound-notifications.ts (mounted on the same sub-app).
 */
import {
  ResolveCustomerCommand,
  type ResolveCustomerCommandOutput,
} from '@aws-sdk/client-marketplace-metering';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { incomingRequest } from '../aws/index.js';
import type { Clock, Logger } from '../shared/index.js';
import type { Db } from '../store/index.js';
import type { Exporter } from './exporter.js';
import type { ExternalClients, ExternalMarketplaceConfig } from './external.js';
import { errorPage, welcomePage } from './html.js';
import { handleNotification } from './inbound-notifications.js';
import { type CatalogPort, MARKETPLACE_ACTOR } from './ports.js';
import type { Product, ProductService } from './products.js';
import type { Lifecycle } from './subscriptions.js';

export interface OnboardingDeps {
  db: Db;
  clock: Clock;
  log: Logger;
  catalog: CatalogPort;
  products: ProductService;
  lifecycle: Lifecycle;
  clients: ExternalClients;
  config: ExternalMarketplaceConfig;
  exporter?: Exporter;
  flushUsage?: () => Promise<void>;
}

const LIVE = ['pending', 'trialing', 'active', 'cancel_pending', 'suspended'];

/** A registration form carries one token (at most 4 KiB): anything near this cap is not one. */
export const REGISTER_MAX_BYTES = 64 * 1024;
/** SNS messages are at most 256 KiB. */
export const NOTIFICATION_MAX_BYTES = 256 * 1024;

export type ResolvedCustomer = Pick<
  ResolveCustomerCommandOutput,
  'CustomerIdentifier' | 'CustomerAWSAccountId' | 'ProductCode' | 'LicenseArn'
>;

/** The consumer id an external customer is known by: CustomerIdentifier, else the account id. */
export const externalIdOf = (r: {
  CustomerIdentifier?: string | undefined;
  CustomerAWSAccountId?: string | undefined;
}) => r.CustomerIdentifier ?? r.CustomerAWSAccountId ?? null;

/** Latest lifecycle word the marketplace sent about this customer and product, if any. */
export async function lastAction(db: Db, customer: string, productCode: string): Promise<string | null> {
  const row = await db
    .selectFrom('marketplace_notifications')
    .select('action')
    .where('customer_identifier', '=', customer)
    .where('product_code', '=', productCode)
    .where('action', 'in', [
      'subscribe-success',
      'subscribe-fail',
      'unsubscribe-pending',
      'unsubscribe-success',
    ])
    .orderBy('received_at', 'desc')
    .orderBy('message_id', 'desc')
    .executeTakeFirst();
  return row?.action ?? null;
}

export function createOnboarding(deps: OnboardingDeps) {
  const { db, catalog, lifecycle } = deps;

  async function link(product: Product, r: ResolvedCustomer) {
    const externalId = externalIdOf(r)!;
    const external: Record<string, string> = { ProductCode: r.ProductCode! };
    if (r.CustomerIdentifier) external.CustomerIdentifier = r.CustomerIdentifier;
    if (r.CustomerAWSAccountId) external.CustomerAWSAccountId = r.CustomerAWSAccountId;
    if (r.LicenseArn) external.LicenseArn = r.LicenseArn;
    const existing = await db
      .selectFrom('consumers')
      .select(['id'])
      .where('external_customer_id', '=', externalId)
      .where((eb) => eb.or([eb('provider_id', '=', product.providerId), eb('provider_id', 'is', null)]))
      .orderBy('created_at')
      .executeTakeFirst();
    if (existing) {
      await catalog.consumers.update(MARKETPLACE_ACTOR, existing.id, { external });
      return existing.id;
    }
    const c = await catalog.consumers.create(MARKETPLACE_ACTOR, {
      providerId: product.providerId,
      name: `Marketplace customer ${r.CustomerAWSAccountId ?? externalId}`,
      externalCustomerId: externalId,
      external,
    });
    return c.id;
  }

  async function register(token: string) {
    let resolved: ResolvedCustomer;
    try {
      resolved = await deps.clients.registration.send(
        new ResolveCustomerCommand({ RegistrationToken: token }),
      );
    } catch (e) {
      const name = (e as Error).name;
      deps.log.info({ error: name }, 'registration token refused');
      if (name === 'InvalidTokenException') {
        return {
          status: 400,
          html: errorPage(
            'Registration link not valid',
            'This registration link is not valid. Start again from the marketplace listing.',
          ),
        };
      }
      if (name === 'ExpiredTokenException') {
        return {
          status: 410,
          html: errorPage(
            'Registration link expired',
            'This registration link has expired or was already used. Open the product in the marketplace again to get a fresh link.',
          ),
        };
      }
      return {
        status: 502,
        html: errorPage(
          'Marketplace unavailable',
          'We could not confirm your subscription with the marketplace. Please try again in a few minutes.',
        ),
      };
    }
    const externalId = externalIdOf(resolved);
    const product = resolved.ProductCode ? await deps.products.byExternalCode(resolved.ProductCode) : null;
    if (!product || !externalId || product.planIds.length === 0) {
      deps.log.warn({ productCode: resolved.ProductCode }, 'registration for a product not sold here');
      return {
        status: 400,
        html: errorPage('Unknown product', 'This marketplace product is not offered here.'),
      };
    }
    const consumerId = await link(product, resolved);
    let sub = await db
      .selectFrom('subscriptions')
      .select(['id', 'status'])
      .where('consumer_id', '=', consumerId)
      .where('plan_id', 'in', product.planIds)
      .where('status', 'in', LIVE)
      .orderBy('created_at', 'desc')
      .executeTakeFirst();
    let created = false;
    if (!sub) {
      const confirmed = (await lastAction(db, externalId, resolved.ProductCode!)) === 'subscribe-success';
      const s = await catalog.subscriptions.create(MARKETPLACE_ACTOR, {
        consumerId,
        planId: product.planIds[0]!,
        status: confirmed ? 'active' : 'pending',
      });
      sub = { id: s.id, status: s.status };
      created = true;
    }
    const key = await catalog.keys.create(MARKETPLACE_ACTOR, {
      subscriptionId: sub.id,
      name: product.title,
      enabled: sub.status !== 'pending',
    });
    const loaded = await db
      .selectFrom('subscriptions')
      .innerJoin('plans', 'plans.id', 'subscriptions.plan_id')
      .select(['subscriptions.id', 'plans.provider_id'])
      .where('subscriptions.id', '=', sub.id)
      .executeTakeFirstOrThrow();
    await lifecycle.record(
      loaded,
      created ? 'onboarded' : 'key_provisioned',
      null,
      sub.status,
      MARKETPLACE_ACTOR,
      {
        productId: product.id,
        keyId: key.id,
        customerIdentifier: resolved.CustomerIdentifier ?? null,
        customerAWSAccountId: resolved.CustomerAWSAccountId ?? null,
        licenseArn: resolved.LicenseArn ?? null,
      },
    );
    // A subscribe-success that raced with this request is applied now.
    if (
      sub.status === 'pending' &&
      (await lastAction(db, externalId, resolved.ProductCode!)) === 'subscribe-success'
    ) {
      await lifecycle.activate(sub.id);
      sub = { ...sub, status: 'active' };
    }
    return {
      status: 200,
      html: welcomePage({
        productTitle: product.title,
        keyValue: key.value,
        keyPrefix: key.prefix,
        subscriptionId: sub.id,
        status: sub.status,
        customerAWSAccountId: resolved.CustomerAWSAccountId ?? '',
        customerIdentifier: resolved.CustomerIdentifier ?? null,
      }),
      subscriptionId: sub.id,
      keyId: key.id,
    };
  }

  const app = new Hono();
  // Both endpoints are anonymous: the body is capped before it is read (let alone verified).
  const capRegistration = bodyLimit({
    maxSize: REGISTER_MAX_BYTES,
    onError: (c) =>
      c.html(
        errorPage('Too large', 'That registration request is too large.'),
        413,
        { connection: 'close' }, // the rest of the body is not read
      ),
  });
  const capNotification = bodyLimit({
    maxSize: NOTIFICATION_MAX_BYTES,
    onError: (c) =>
      c.json({ message: `body: at most ${NOTIFICATION_MAX_BYTES} bytes` }, 413, { connection: 'close' }),
  });
  app.post('/marketplace/register', capRegistration, async (c) => {
    const noStore = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };
    try {
      const form = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
      const token = form['x-amzn-marketplace-token'];
      if (typeof token !== 'string' || token.trim() === '' || token.length > 4096) {
        return c.html(
          errorPage(
            'Registration link not valid',
            'The marketplace registration token (x-amzn-marketplace-token) is missing.',
          ),
          400,
          noStore,
        );
      }
      const out = await register(token.trim());
      return c.html(out.html, out.status as 200, noStore);
    } catch (err) {
      deps.log.error({ err }, 'marketplace registration failed');
      return c.html(
        errorPage('Something went wrong', 'We could not finish your registration. Please try again.'),
        500,
        noStore,
      );
    }
  });
  app.post('/marketplace/notifications', capNotification, async (c) => {
    const raw = await c.req.text();
    const out = await handleNotification(deps, incomingRequest(c.req.raw, raw));
    return c.json(out.body, out.status as 200);
  });
  return { app, register };
}

export type Onboarding = ReturnType<typeof createOnboarding>;
