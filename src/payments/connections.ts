/**
 * Processor connections: a provider's own Stripe account, or the operator's for the whole
 * installation (owner '*'), used when the provider has none. The secret key and the webhook
 * signing secret are sealed with the installation secret (AES-256-GCM, the marketplace's
 * sealing) and only ever shown masked. "Check connection" calls the processor and records
 * the answer.
 */
import { z } from 'zod';
import { seal, sealingKey, unseal } from '../marketplace/index.js';
import { type Clock, invalid, notFound } from '../shared/index.js';
import type { Db } from '../store/index.js';
import type { PaymentConnectionTable } from '../store/tables/payments.js';
import type { PaymentProcessor } from './processor.js';
import { stripeProcessor } from './stripe.js';

export const OPERATOR_OWNER = '*';

export const connectInput = z.strictObject({
  secretKey: z
    .string()
    .regex(
      /^(sk|rk)_(test|live)_[A-Za-z0-9]{8,247}$/,
      'must be a Stripe secret or restricted key (sk_… / rk_…)',
    ),
  webhookSecret: z
    .string()
    .regex(/^whsec_[A-Za-z0-9+/=]{8,247}$/, 'must be a Stripe signing secret (whsec_…)'),
});
export type ConnectInput = z.infer<typeof connectInput>;

export interface ConnectionView {
  owner: string;
  processor: string;
  secretKey: string;
  webhookSecret: string;
  accountRef: string | null;
  checkedAt: string | null;
  checkResult: string | null;
  updatedAt: string;
}

export interface Connections {
  connect(owner: string, input: unknown): Promise<ConnectionView>;
  get(owner: string): Promise<ConnectionView | null>;
  remove(owner: string): Promise<void>;
  /** The connection that collects for a provider: its own, else the operator's; null when none. */
  processorFor(providerId: string): Promise<{ owner: string; processor: PaymentProcessor } | null>;
  /** The processor of exactly this owner (webhooks arrive per owner). */
  processorOf(owner: string): Promise<PaymentProcessor | null>;
  check(owner: string): Promise<ConnectionView>;
}

/** `sk_test_…wxyz`: enough to recognise a key, not to use it. */
export function mask(secret: string): string {
  const cut = secret.indexOf('_', secret.indexOf('_') + 1);
  const head = cut > 0 && cut < 12 ? secret.slice(0, cut + 1) : secret.slice(0, 6);
  return `${head}…${secret.slice(-4)}`;
}

export function createConnections(deps: {
  db: Db;
  clock: Clock;
  secret: string;
  stripeApiUrl?: string;
}): Connections {
  const { db, clock } = deps;
  const key = sealingKey(`payments:${deps.secret}`);

  const view = (r: PaymentConnectionTable): ConnectionView => ({
    owner: r.owner,
    processor: r.processor,
    secretKey: r.secret_key_hint,
    webhookSecret: r.webhook_secret_hint,
    accountRef: r.account_ref,
    checkedAt: r.checked_at == null ? null : new Date(Number(r.checked_at)).toISOString(),
    checkResult: r.check_result,
    updatedAt: new Date(Number(r.updated_at)).toISOString(),
  });

  const row = (owner: string) =>
    db.selectFrom('payment_connections').selectAll().where('owner', '=', owner).executeTakeFirst();

  function build(r: PaymentConnectionTable): PaymentProcessor {
    return stripeProcessor({
      secretKey: unseal(key, r.secret_key_sealed),
      webhookSecret: unseal(key, r.webhook_secret_sealed),
      ...(deps.stripeApiUrl ? { apiUrl: deps.stripeApiUrl } : {}),
    });
  }

  const api: Connections = {
    async connect(owner, input) {
      const parsed = connectInput.safeParse(input);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        throw invalid(issue.path.join('.') || 'body', issue.message);
      }
      const { secretKey, webhookSecret } = parsed.data;
      const now = clock.now();
      const values: PaymentConnectionTable = {
        owner,
        processor: 'stripe',
        secret_key_sealed: seal(key, secretKey),
        secret_key_hint: mask(secretKey),
        webhook_secret_sealed: seal(key, webhookSecret),
        webhook_secret_hint: mask(webhookSecret),
        account_ref: null,
        checked_at: null,
        check_result: null,
        created_at: now,
        updated_at: now,
      };
      const { owner: _o, created_at: _c, ...update } = values;
      await db
        .insertInto('payment_connections')
        .values(values)
        .onConflict((oc) => oc.column('owner').doUpdateSet(update))
        .execute();
      return view(values);
    },

    async get(owner) {
      const r = await row(owner);
      return r ? view(r) : null;
    },

    async remove(owner) {
      await db.deleteFrom('payment_connections').where('owner', '=', owner).execute();
    },

    async processorFor(providerId) {
      const r = (await row(providerId)) ?? (await row(OPERATOR_OWNER));
      return r ? { owner: r.owner, processor: build(r) } : null;
    },

    async processorOf(owner) {
      const r = await row(owner);
      return r ? build(r) : null;
    },

    async check(owner) {
      const r = await row(owner);
      if (!r) throw notFound('payment connection', owner);
      let result = 'ok';
      let accountRef: string | null = null;
      try {
        accountRef = (await build(r).checkConnection()).accountRef;
      } catch (e) {
        result = e instanceof Error ? e.message.slice(0, 500) : String(e);
      }
      const now = clock.now();
      await db
        .updateTable('payment_connections')
        .set({ account_ref: accountRef, check_result: result, checked_at: now })
        .where('owner', '=', owner)
        .execute();
      return view({ ...r, account_ref: accountRef, check_result: result, checked_at: now });
    },
  };
  return api;
}
