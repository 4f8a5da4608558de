/**
 * A local Stripe for tests: the subset of Stripe's REST API that Tollgate's payments use,
 * on a loopback port, answering objects shaped like Stripe's published examples
 * (stripe-fixtures.json) so the official `stripe` client parses them as Stripe's. Wire
 * rules are in stripe-wire.ts. Behaviour follows Stripe's API reference:
 *
 * - Checkout Sessions in `setup` mode get a hosted page (`url`); submitting a card number
 *   there creates the PaymentMethod, succeeds the SetupIntent, completes the session and
 *   redirects to `success_url` with `{CHECKOUT_SESSION_ID}` replaced. Card 4242 4242 4242 4242
 *   is charged; 4000 0000 0000 0341 attaches but every charge is declined (Stripe's test card).
 * - Invoices: created as drafts, items added with `invoice`, finalized (number, hosted page),
 *   then `pay` charges the customer's default payment method (402 `card_declined` and an
 *   `invoice.payment_failed` event on decline) or `send` emails it. The hosted invoice page
 *   lets the buyer pay with a working card.
 * - Events are POSTed to `webhookUrl`, signed with `stripe.webhooks.generateTestHeaderString`.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import {
  allow,
  badParam,
  bool,
  decodeForm,
  expands,
  IdempotencyStore,
  int,
  metadata,
  missing,
  type Params,
  page,
  required,
  StripeFail,
} from './stripe-wire.js';

type Obj = Record<string, unknown> & { id: string };

const FIXTURES = JSON.parse(readFileSync(new URL('./stripe-fixtures.json', import.meta.url), 'utf8'))
  .resources as Record<string, Record<string, unknown>>;
const shape = (name: string, fields: Record<string, unknown>): Obj =>
  ({ ...structuredClone(FIXTURES[name]!), livemode: false, ...fields }) as unknown as Obj;

export const DECLINING_CARD = '4000000000000341';

export interface LocalStripe {
  url: string;
  secretKey: string;
  webhookSecret: string;
  /** Where events are POSTed; null: nowhere (events are only recorded). */
  webhookUrl: string | null;
  /** Drop events instead of sending them (a lost webhook). */
  dropEvents: boolean;
  events: Obj[];
  deliveries: Array<{ type: string; status: number; error?: string }>;
  invoices: Map<string, Obj>;
  idempotentReplays(): number;
  /** Buyer submits a card on the hosted Checkout page (what a browser does). */
  completeCheckout(sessionId: string, card: string): Promise<string>;
  /** The buyer pays an open invoice on its hosted page with a working card. */
  payHostedInvoice(invoiceId: string): Promise<void>;
  /** Re-sends an event exactly as first sent (a duplicated delivery). */
  redeliver(eventId: string): Promise<number>;
  settle(): Promise<void>;
  close(): Promise<void>;
}

export async function startLocalStripe(): Promise<LocalStripe> {
  const secretKey = `sk_test_${Math.random().toString(36).slice(2)}LocalStripe`;
  const webhookSecret = `whsec_${Math.random().toString(36).slice(2)}LocalStripe`;
  const signer = new Stripe(secretKey);
  const idem = new IdempotencyStore();
  const store = {
    customers: new Map<string, Obj>(),
    sessions: new Map<string, Obj>(),
    intents: new Map<string, Obj>(),
    methods: new Map<string, Obj & { number: string }>(),
    invoices: new Map<string, Obj>(),
    items: new Map<string, Obj>(),
  };
  let seq = 0;
  const newId = (prefix: string) =>
    `${prefix}_${Date.now().toString(36)}${(++seq).toString().padStart(6, '0')}`;
  const now = () => Math.floor(Date.now() / 1000);
  const pending: Promise<unknown>[] = [];
  const sent = new Map<string, string>();
  let base = '';

  const fake: LocalStripe = {
    url: '',
    secretKey,
    webhookSecret,
    webhookUrl: null,
    dropEvents: false,
    events: [],
    deliveries: [],
    invoices: store.invoices,
    idempotentReplays: () => idem.replays,
    async completeCheckout(sessionId, card) {
      const r = await fetch(`${base}/checkout/${sessionId}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `card=${card}`,
        redirect: 'manual',
      });
      return r.headers.get('location') ?? '';
    },
    async payHostedInvoice(invoiceId) {
      const r = await fetch(`${base}/i/${invoiceId}`, { method: 'POST', redirect: 'manual' });
      if (r.status !== 303) throw new Error(`hosted invoice payment answered ${r.status}`);
    },
    async redeliver(eventId) {
      const payload = sent.get(eventId);
      if (!payload || !fake.webhookUrl) throw new Error(`event ${eventId} was not sent`);
      return deliver(payload);
    },
    async settle() {
      while (pending.length) await pending.shift();
    },
    close: () => new Promise((r) => server.close(() => r())),
  };

  /** One delivery, retried once on a network error as Stripe retries (its later retries take hours). */
  async function deliver(payload: string, retry = true): Promise<number> {
    try {
      return await deliverOnce(payload);
    } catch (e) {
      if (!retry) throw e;
      return deliver(payload, false);
    }
  }

  async function deliverOnce(payload: string): Promise<number> {
    const header = signer.webhooks.generateTestHeaderString({ payload, secret: webhookSecret });
    const r = await fetch(fake.webhookUrl!, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'stripe-signature': header },
      body: payload,
    });
    await r.arrayBuffer();
    return r.status;
  }

  function emit(type: string, object: Obj): void {
    const event = shape('event', {
      id: newId('evt'),
      type,
      created: now(),
      api_version: Stripe.API_VERSION ?? null,
      data: { object: structuredClone(object) },
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
    });
    fake.events.push(event);
    if (!fake.webhookUrl || fake.dropEvents) return;
    const payload = JSON.stringify(event, null, 2);
    sent.set(event.id, payload);
    pending.push(
      deliver(payload).then(
        (status) => fake.deliveries.push({ type, status }),
        (e: Error) => fake.deliveries.push({ type, status: 0, error: String(e.cause ?? e) }),
      ),
    );
  }

  const get = <T extends Obj>(map: Map<string, T>, what: string, id: string): T => {
    const o = map.get(id);
    if (!o) throw missing(what, id);
    return o;
  };

  function customerView(c: Obj, expand: string[]): Obj {
    const out = structuredClone(c);
    const settings = out.invoice_settings as { default_payment_method: unknown };
    if (expand.includes('invoice_settings.default_payment_method') && settings.default_payment_method)
      settings.default_payment_method = methodView(
        get(store.methods, 'payment_method', settings.default_payment_method as string),
      );
    return out;
  }
  const methodView = (m: Obj & { number: string }) => {
    const { number: _n, ...rest } = m;
    return rest as Obj;
  };

  const lineOf = (i: Obj) =>
    shape('line_item', {
      id: `il_${i.id.slice(3)}`,
      invoice: i.invoice,
      amount: i.amount,
      currency: i.currency,
      description: i.description,
      metadata: i.metadata,
      subtotal: i.amount,
      quantity: 1,
      parent: {
        type: 'invoice_item_details',
        invoice_item_details: {
          invoice_item: i.id,
          proration: false,
          proration_details: { credited_items: null },
          subscription: null,
        },
        subscription_item_details: null,
      },
    });
  const linesOf = (inv: Obj) => [...store.items.values()].filter((i) => i.invoice === inv.id).map(lineOf);

  function invoiceView(inv: Obj): Obj {
    const lines = linesOf(inv);
    const total = lines.reduce((a, l) => a + (l.amount as number), 0);
    const paid = inv.status === 'paid' ? total : 0;
    return {
      ...inv,
      subtotal: total,
      total,
      total_excluding_tax: total,
      subtotal_excluding_tax: total,
      amount_due: total,
      amount_paid: paid,
      amount_remaining: total - paid,
      lines: {
        object: 'list',
        data: lines.slice(0, 10),
        has_more: lines.length > 10,
        url: `/v1/invoices/${inv.id}/lines`,
      },
    };
  }
  function charge(inv: Obj): void {
    const customer = get(store.customers, 'customer', inv.customer as string);
    const pmId = (customer.invoice_settings as { default_payment_method: string | null })
      .default_payment_method;
    if (!pmId)
      throw badParam(
        'customer',
        'This customer has no attached payment source or default payment method.',
        'invoice_no_customer_payment_method',
      );
    const pm = get(store.methods, 'payment_method', pmId);
    inv.attempted = true;
    inv.attempt_count = (inv.attempt_count as number) + 1;
    if (pm.number === DECLINING_CARD) {
      inv.next_payment_attempt = now() + 3 * 86400;
      emit('invoice.payment_failed', invoiceView(inv));
      throw new StripeFail(402, 'card_error', 'Your card was declined.', 'card_declined', undefined);
    }
    markPaid(inv);
  }
  function markPaid(inv: Obj): void {
    inv.status = 'paid';
    inv.next_payment_attempt = null;
    (inv.status_transitions as Record<string, unknown>).paid_at = now();
    emit('invoice.paid', invoiceView(inv));
  }

  const routes: Array<[string, RegExp, (m: string[], p: Params) => unknown]> = [
    [
      'GET',
      /^\/v1\/account$/,
      (_m, p) => {
        allow(p, ['expand']);
        return shape('account', {
          id: 'acct_local0000000001',
          email: 'local@stripe.test',
          charges_enabled: true,
        });
      },
    ],
    [
      'POST',
      /^\/v1\/customers$/,
      (_m, p) => {
        allow(p, ['name', 'email', 'description', 'metadata', 'expand']);
        const c = shape('customer', {
          id: newId('cus'),
          created: now(),
          name: p.name ?? null,
          email: p.email ?? null,
          metadata: metadata(p),
          discount: null,
          invoice_prefix: Math.random().toString(16).slice(2, 10).toUpperCase(),
          invoice_settings: {
            ...(FIXTURES.customer!.invoice_settings as object),
            default_payment_method: null,
          },
        });
        store.customers.set(c.id, c);
        return c;
      },
    ],
    [
      'GET',
      /^\/v1\/customers\/([^/]+)$/,
      (m, p) => {
        allow(p, ['expand']);
        return customerView(get(store.customers, 'customer', m[1]!), expands(p));
      },
    ],
    [
      'POST',
      /^\/v1\/customers\/([^/]+)$/,
      (m, p) => {
        allow(p, ['name', 'email', 'metadata', 'invoice_settings', 'expand']);
        const c = get(store.customers, 'customer', m[1]!);
        const s = p.invoice_settings as Params | undefined;
        if (s) {
          allow(s, ['default_payment_method']);
          const pm = get(store.methods, 'payment_method', String(s.default_payment_method));
          if (pm.customer !== c.id)
            throw badParam(
              'invoice_settings[default_payment_method]',
              `The payment method ${pm.id} is not attached to ${c.id}.`,
            );
          (c.invoice_settings as Params).default_payment_method = pm.id;
        }
        if (p.metadata) c.metadata = { ...(c.metadata as object), ...metadata(p) };
        return customerView(c, expands(p));
      },
    ],
    [
      'POST',
      /^\/v1\/checkout\/sessions$/,
      (_m, p) => {
        allow(p, [
          'mode',
          'customer',
          'allowed_payment_method_types',
          'currency',
          'success_url',
          'cancel_url',
          'metadata',
          'expand',
        ]);
        const mode = required(p, 'mode');
        if (mode !== 'setup') throw badParam('mode', 'The local Stripe supports mode=setup only.');
        if (!p.currency && !p.allowed_payment_method_types)
          throw badParam(
            'currency',
            'currency is required in setup mode when allowed_payment_method_types is not set.',
            'parameter_missing',
          );
        const success = required(p, 'success_url');
        if (p.customer) get(store.customers, 'customer', p.customer as string);
        const id = `cs_test_${newId('x').slice(2)}`;
        const s = shape('checkout.session', {
          id,
          mode,
          customer: p.customer ?? null,
          success_url: success,
          cancel_url: p.cancel_url ?? null,
          status: 'open',
          payment_status: 'no_payment_required',
          payment_intent: null,
          setup_intent: null,
          currency: p.currency ?? null,
          metadata: metadata(p),
          created: now(),
          expires_at: now() + 86400,
          url: `${base}/checkout/${id}`,
        });
        store.sessions.set(id, s);
        return s;
      },
    ],
    [
      'GET',
      /^\/v1\/checkout\/sessions\/([^/]+)$/,
      (m, p) => {
        allow(p, ['expand']);
        const s = structuredClone(get(store.sessions, 'checkout.session', m[1]!));
        if (expands(p).includes('setup_intent') && s.setup_intent)
          s.setup_intent = get(store.intents, 'setup_intent', s.setup_intent as string);
        return s;
      },
    ],
    [
      'GET',
      /^\/v1\/payment_methods\/([^/]+)$/,
      (m, p) => {
        allow(p, ['expand']);
        return methodView(get(store.methods, 'payment_method', m[1]!));
      },
    ],
    [
      'POST',
      /^\/v1\/invoices$/,
      (_m, p) => {
        allow(p, [
          'customer',
          'currency',
          'auto_advance',
          'pending_invoice_items_behavior',
          'description',
          'metadata',
          'collection_method',
          'days_until_due',
          'expand',
        ]);
        const customer = get(store.customers, 'customer', required(p, 'customer'));
        const method = (p.collection_method as string | undefined) ?? 'charge_automatically';
        if (!['charge_automatically', 'send_invoice'].includes(method))
          throw badParam('collection_method', 'Invalid collection_method');
        const days = int(p, 'days_until_due');
        if (method === 'send_invoice' && days === undefined)
          throw badParam('days_until_due', 'Missing required param: days_until_due.', 'parameter_missing');
        if (method !== 'send_invoice' && days !== undefined)
          throw badParam(
            'days_until_due',
            'days_until_due can only be set when collection_method=send_invoice.',
          );
        const inv = shape('invoice', {
          id: newId('in'),
          object: 'invoice',
          customer: customer.id,
          customer_email: customer.email,
          customer_name: customer.name,
          currency: (p.currency as string | undefined) ?? 'usd',
          collection_method: method,
          auto_advance: bool(p, 'auto_advance') ?? false,
          description: p.description ?? null,
          metadata: metadata(p),
          status: 'draft',
          number: null,
          hosted_invoice_url: null,
          invoice_pdf: null,
          attempt_count: 0,
          attempted: false,
          next_payment_attempt: null,
          due_date: days === undefined ? null : now() + days * 86400,
          created: now(),
          effective_at: null,
          last_finalization_error: null,
          from_invoice: null,
          parent: null,
          status_transitions: {
            finalized_at: null,
            marked_uncollectible_at: null,
            paid_at: null,
            voided_at: null,
          },
        });
        store.invoices.set(inv.id, inv);
        return invoiceView(inv);
      },
    ],
    [
      'POST',
      /^\/v1\/invoiceitems$/,
      (_m, p) => {
        allow(p, ['customer', 'invoice', 'currency', 'amount', 'description', 'metadata', 'expand']);
        const customer = get(store.customers, 'customer', required(p, 'customer'));
        const amount = int(p, 'amount');
        if (amount === undefined)
          throw badParam('amount', 'Missing required param: amount.', 'parameter_missing');
        const currency = required(p, 'currency');
        let invoice: Obj | null = null;
        if (p.invoice) {
          invoice = get(store.invoices, 'invoice', p.invoice as string);
          if (invoice.status !== 'draft')
            throw badParam(
              'invoice',
              `You can only add invoice items to draft invoices.`,
              'invoice_not_editable',
            );
          if (invoice.customer !== customer.id)
            throw badParam('invoice', 'The invoice belongs to another customer.');
          if (invoice.currency !== currency)
            throw badParam(
              'currency',
              `The currency (${currency}) must match the invoice's (${invoice.currency}).`,
            );
        }
        const item = shape('invoiceitem', {
          id: newId('ii'),
          customer: customer.id,
          invoice: invoice?.id ?? null,
          amount,
          currency,
          description: p.description ?? null,
          metadata: metadata(p),
          date: now(),
          quantity: 1,
          quantity_decimal: '1',
          net_amount: amount,
          parent: null,
          pricing: { type: 'price_details', unit_amount_decimal: String(amount) },
        });
        store.items.set(item.id, item);
        return item;
      },
    ],
    [
      'GET',
      /^\/v1\/invoices$/,
      (_m, p) => {
        allow(p, ['customer', 'status', 'limit', 'starting_after', 'ending_before', 'expand']);
        const all = [...store.invoices.values()]
          .filter((i) => (!p.customer || i.customer === p.customer) && (!p.status || i.status === p.status))
          .reverse()
          .map(invoiceView);
        return page(all, p, '/v1/invoices');
      },
    ],
    [
      'GET',
      /^\/v1\/invoices\/([^/]+)\/lines$/,
      (m, p) => {
        allow(p, ['limit', 'starting_after', 'ending_before', 'expand']);
        const inv = get(store.invoices, 'invoice', m[1]!);
        return page(linesOf(inv), p, `/v1/invoices/${inv.id}/lines`);
      },
    ],
    [
      'GET',
      /^\/v1\/invoices\/([^/]+)$/,
      (m, p) => {
        allow(p, ['expand']);
        return invoiceView(get(store.invoices, 'invoice', m[1]!));
      },
    ],
    [
      'POST',
      /^\/v1\/invoices\/([^/]+)\/finalize$/,
      (m, p) => {
        allow(p, ['auto_advance', 'expand']);
        const inv = get(store.invoices, 'invoice', m[1]!);
        if (inv.status !== 'draft')
          throw badParam(
            'invoice',
            "This invoice is already finalized, you can't re-finalize a non-draft invoice.",
            'invoice_not_editable',
          );
        const customer = get(store.customers, 'customer', inv.customer as string);
        const n =
          [...store.invoices.values()].filter((i) => i.customer === customer.id && i.number).length + 1;
        inv.number = `${customer.invoice_prefix}-${String(n).padStart(4, '0')}`;
        inv.status = 'open';
        inv.auto_advance = bool(p, 'auto_advance') ?? inv.auto_advance;
        inv.hosted_invoice_url = `${base}/i/${inv.id}`;
        inv.effective_at = now();
        (inv.status_transitions as Params).finalized_at = now();
        emit('invoice.finalized', invoiceView(inv));
        if (invoiceView(inv).amount_due === 0) markPaid(inv);
        return invoiceView(inv);
      },
    ],
    [
      'POST',
      /^\/v1\/invoices\/([^/]+)\/pay$/,
      (m, p) => {
        allow(p, ['expand', 'off_session']);
        const inv = get(store.invoices, 'invoice', m[1]!);
        if (inv.status !== 'open')
          throw badParam(
            'invoice',
            `Invoice is ${inv.status}; only open invoices can be paid.`,
            'invoice_not_open',
          );
        charge(inv);
        return invoiceView(inv);
      },
    ],
    [
      'POST',
      /^\/v1\/invoices\/([^/]+)\/send$/,
      (m, p) => {
        allow(p, ['expand']);
        const inv = get(store.invoices, 'invoice', m[1]!);
        if (inv.collection_method !== 'send_invoice')
          throw badParam(
            'invoice',
            'You can only manually send an invoice if its collection method is send_invoice.',
          );
        if (inv.status !== 'open') throw badParam('invoice', 'You can only send open invoices.');
        emit('invoice.sent', invoiceView(inv));
        return invoiceView(inv);
      },
    ],
    [
      'POST',
      /^\/v1\/invoices\/([^/]+)\/void$/,
      (m, p) => {
        allow(p, ['expand']);
        const inv = get(store.invoices, 'invoice', m[1]!);
        if (inv.status !== 'open' && inv.status !== 'uncollectible')
          throw badParam('invoice', 'You can only void open invoices.');
        inv.status = 'void';
        (inv.status_transitions as Params).voided_at = now();
        emit('invoice.voided', invoiceView(inv));
        return invoiceView(inv);
      },
    ],
    [
      'POST',
      /^\/v1\/invoices\/([^/]+)\/mark_uncollectible$/,
      (m, p) => {
        allow(p, ['expand']);
        const inv = get(store.invoices, 'invoice', m[1]!);
        if (inv.status !== 'open')
          throw badParam('invoice', 'You can only mark open invoices uncollectible.');
        inv.status = 'uncollectible';
        (inv.status_transitions as Params).marked_uncollectible_at = now();
        emit('invoice.marked_uncollectible', invoiceView(inv));
        return invoiceView(inv);
      },
    ],
  ];

  /** The hosted pages a browser would see (Checkout, hosted invoice). */
  function hosted(req: IncomingMessage, res: ServerResponse, path: string, body: string): boolean {
    let m = /^\/checkout\/([^/]+)$/.exec(path);
    if (m) {
      const s = store.sessions.get(m[1]!);
      if (!s) return notFoundPage(res);
      if (req.method === 'GET') {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end(
          `<form method="post"><label>Card number <input name="card"></label><button>Save card</button></form>`,
        );
        return true;
      }
      const number = (decodeForm(body).card as string | undefined)?.replace(/\s/g, '') ?? '';
      if (!/^\d{16}$/.test(number)) {
        res.writeHead(400, { 'content-type': 'text/plain' });
        res.end('invalid card number');
        return true;
      }
      const pm = {
        ...shape('payment_method', {
          id: newId('pm'),
          customer: s.customer,
          created: now(),
          metadata: {},
          type: 'card',
          card: {
            ...(FIXTURES.payment_method!.card as object),
            brand: 'visa',
            display_brand: 'visa',
            last4: number.slice(-4),
            exp_month: 12,
            exp_year: new Date().getUTCFullYear() + 3,
          },
        }),
        number,
      };
      store.methods.set(pm.id, pm);
      const intent = shape('setup_intent', {
        id: newId('seti'),
        customer: s.customer,
        payment_method: pm.id,
        status: 'succeeded',
        created: now(),
        last_setup_error: null,
        next_action: null,
      });
      store.intents.set(intent.id, intent);
      Object.assign(s, { status: 'complete', setup_intent: intent.id });
      emit('checkout.session.completed', s);
      res.writeHead(303, { location: (s.success_url as string).replace('{CHECKOUT_SESSION_ID}', s.id) });
      res.end();
      return true;
    }
    m = /^\/i\/([^/]+)$/.exec(path);
    if (m) {
      const inv = store.invoices.get(m[1]!);
      if (!inv) return notFoundPage(res);
      if (req.method === 'POST' && inv.status === 'open') markPaid(inv);
      res.writeHead(req.method === 'POST' ? 303 : 200, { 'content-type': 'text/html', location: path });
      res.end(`<p>Invoice ${inv.number}: ${inv.status}</p><form method="post"><button>Pay</button></form>`);
      return true;
    }
    return false;
  }
  function notFoundPage(res: ServerResponse): true {
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found');
    return true;
  }

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const u = new URL(req.url ?? '/', 'http://local');
      if (hosted(req, res, u.pathname, body)) return;
      const send = (status: number, text: string, extra: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json', 'request-id': `req_${++seq}`, ...extra });
        res.end(text);
      };
      const auth = req.headers.authorization ?? '';
      const apiKey = auth.startsWith('Bearer ') ? auth.slice(7) : '';
      if (apiKey !== secretKey) {
        const e = new StripeFail(
          401,
          'invalid_request_error',
          `Invalid API Key provided: ${apiKey.slice(0, 8)}****`,
        );
        return send(401, JSON.stringify(e.body()));
      }
      const key = req.headers['idempotency-key'];
      let fingerprint = '';
      try {
        if (req.method === 'POST' && typeof key === 'string') {
          const seen = idem.lookup(apiKey, key, req.method, u.pathname, body);
          if (seen.replay)
            return send(seen.replay.status, seen.replay.body, { 'idempotent-replayed': 'true' });
          fingerprint = seen.fingerprint;
        }
        const params = decodeForm(req.method === 'GET' ? u.search.slice(1) : body);
        const route = routes.find(([method, re]) => method === req.method && re.test(u.pathname));
        if (!route)
          throw new StripeFail(
            404,
            'invalid_request_error',
            `Unrecognized request URL (${req.method}: ${u.pathname}).`,
          );
        const out = JSON.stringify(route[2](route[1].exec(u.pathname)!, params));
        if (fingerprint) idem.remember(apiKey, key as string, fingerprint, 200, out);
        send(200, out);
      } catch (e) {
        const fail = e instanceof StripeFail ? e : new StripeFail(500, 'api_error', String(e));
        const out = JSON.stringify(fail.body());
        if (fingerprint) idem.remember(apiKey, key as string, fingerprint, fail.status, out);
        send(fail.status, out);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.url = base;
  return fake;
}
