/**
 * /billing/runs and /invoices… — run billing now, list and read invoices, render them
 * (HTML, PDF), move them along draft → open → paid | void, and re-issue a void one. A provider token runs
 * billing only over its own subscriptions and sees only its own invoices.
 */
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { Actor } from '../../catalog/index.js';
import { type Env, IdParam, json, jsonBody, problems } from '../../control/index.js';
import { listInvoicesQuery, type RunResult as RunValue, transitionNote } from '../index.js';
import type { ResolvedBillingAdminDeps as BillingAdminDeps } from './index.js';
import { Invoice, InvoicePage, InvoiceSummary, RunBody, RunResult } from './schemas.js';
import { visibleInvoice, visibleSubscription } from './scope.js';

const tags = ['billing'];
const ListQuery = listInvoicesQuery.meta({ id: 'InvoiceQuery' });
/** Subscriptions read per page when a provider runs billing over all of its own. */
const RUN_PAGE = 100;

export function registerInvoices(app: OpenAPIHono<Env>, deps: BillingAdminDeps): void {
  const { billing, catalog } = deps;

  /** A provider without a subscriptionId: every one of its subscriptions, one run each. */
  async function runForProvider(
    actor: Actor,
    input: { until?: number; finalize: boolean; dryRun: boolean },
  ): Promise<RunValue> {
    const t0 = performance.now();
    const total: RunValue = {
      until: new Date(0).toISOString(),
      subscriptions: 0,
      created: 0,
      invoiceIds: [],
      skipped: [],
      failed: [],
      ms: 0,
      ...(input.dryRun ? { planned: [] } : {}),
    };
    let cursor: string | undefined;
    do {
      const page = await catalog.subscriptions.list(actor, {
        limit: RUN_PAGE,
        ...(cursor ? { cursor } : {}),
      });
      for (const sub of page.items) {
        const r = await billing.run({ ...input, subscriptionId: sub.id });
        total.until = r.until;
        total.subscriptions += r.subscriptions;
        total.created += r.created;
        total.invoiceIds.push(...r.invoiceIds);
        total.skipped.push(...r.skipped);
        total.failed.push(...r.failed);
        total.planned?.push(...(r.planned ?? []));
      }
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    if (total.subscriptions === 0) {
      const now = deps.clock.now();
      total.until = new Date(Math.min(input.until ?? now, now)).toISOString();
    }
    total.ms = Math.round(performance.now() - t0);
    return total;
  }

  app.openapi(
    createRoute({
      method: 'post',
      path: '/billing/runs',
      tags,
      summary: 'Run billing now: close every ended period (idempotent)',
      description:
        'Creates one invoice per subscription per ended period not yet invoiced; running it again creates nothing. A provider token bills only its own subscriptions.',
      request: jsonBody(RunBody, false),
      responses: { 200: json(RunResult, 'What the run did'), ...problems },
    }),
    async (c) => {
      const actor = c.var.actor;
      const body = c.req.valid('json');
      if (body.subscriptionId !== undefined) await visibleSubscription(catalog, actor, body.subscriptionId);
      else if (actor.kind === 'provider') {
        return c.json(
          await runForProvider(actor, { until: body.until, finalize: body.finalize, dryRun: body.dryRun }),
          200,
        );
      }
      return c.json(await billing.run(body), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/invoices',
      tags,
      summary: 'List invoices, oldest first (filter by providerId, consumerId, subscriptionId, status)',
      request: { query: ListQuery },
      responses: { 200: json(InvoicePage, 'A page of invoices'), ...problems },
    }),
    async (c) => {
      const actor = c.var.actor;
      const q = c.req.valid('query');
      if (actor.kind === 'provider') {
        if (q.providerId !== undefined && q.providerId !== actor.providerId) {
          return c.json({ items: [], nextCursor: null }, 200);
        }
        return c.json(await billing.listInvoices({ ...q, providerId: actor.providerId }), 200);
      }
      return c.json(await billing.listInvoices(q), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/invoices/{id}',
      tags,
      summary: 'Get an invoice with its lines (each usage line names the hours it came from)',
      request: { params: IdParam },
      responses: { 200: json(Invoice, 'The invoice'), ...problems },
    }),
    async (c) => c.json(await visibleInvoice(billing, c.var.actor, c.req.valid('param').id), 200),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/invoices/{id}/html',
      tags,
      summary: 'The invoice as a self-contained HTML page',
      request: { params: IdParam },
      responses: {
        200: { content: { 'text/html': { schema: z.string() } }, description: 'HTML document' },
        ...problems,
      },
    }),
    async (c) => {
      const inv = await visibleInvoice(billing, c.var.actor, c.req.valid('param').id);
      return c.html(await billing.renderHtml(inv.id), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/invoices/{id}/pdf',
      tags,
      summary: 'The invoice as PDF (printed by headless Chromium)',
      request: { params: IdParam },
      responses: {
        200: {
          content: { 'application/pdf': { schema: z.string().openapi({ format: 'binary' }) } },
          description: 'PDF document, as an attachment named <number>.pdf',
        },
        ...problems,
      },
    }),
    async (c) => {
      const inv = await visibleInvoice(billing, c.var.actor, c.req.valid('param').id);
      const pdf = await billing.renderPdf(inv.id);
      return c.body(new Uint8Array(pdf), 200, {
        'content-type': 'application/pdf',
        'content-disposition': `attachment; filename="${inv.number}.pdf"`,
      });
    },
  );

  const notes = {
    finalize: z.strictObject({}),
    pay: z.strictObject({ reference: transitionNote.shape.reference }).openapi('PayInvoice'),
    void: z.strictObject({ reason: transitionNote.shape.reason }).openapi('VoidInvoice'),
  };
  const transitions = [
    ['finalize', 'Finalize a draft invoice (draft → open)', 'invoice.finalized'],
    ['pay', 'Mark an open invoice paid (open → paid), with an optional payment `reference`', 'invoice.paid'],
    [
      'void',
      'Void a draft or open invoice (draft | open → void), with an optional `reason`',
      'invoice.voided',
    ],
  ] as const;
  for (const [action, summary, event] of transitions) {
    app.openapi(
      createRoute({
        method: 'post',
        path: `/invoices/{id}/${action}`,
        tags,
        summary,
        description: `Answers 409 INVALID_STATE from any other status. Emits the ${event} webhook event.`,
        request: { params: IdParam, ...jsonBody(notes[action], false) },
        responses: { 200: json(InvoiceSummary, 'The invoice after the change'), ...problems },
      }),
      async (c) => {
        const inv = await visibleInvoice(billing, c.var.actor, c.req.valid('param').id);
        const body = (c.req.valid('json') ?? {}) as { reason?: string; reference?: string };
        const actor = c.var.actor.id;
        if (action === 'finalize') return c.json(await billing.finalize(inv.id, actor), 200);
        if (action === 'pay') return c.json(await billing.markPaid(inv.id, actor, body), 200);
        return c.json(await billing.void(inv.id, actor, body), 200);
      },
    );
  }

  app.openapi(
    createRoute({
      method: 'post',
      path: '/invoices/{id}/reissue',
      tags,
      summary: 'Re-issue a void invoice: its period rated again as a new draft',
      description:
        'Rates the same subscription and period again from the usage and prices in the store now and ' +
        'writes a new draft with the next number and `reissueOf` set. Answers 409 INVALID_STATE unless ' +
        'the invoice is void, 409 CONFLICT when it was already re-issued. Emits invoice.created.',
      request: { params: IdParam },
      responses: { 201: json(InvoiceSummary, 'The new draft'), ...problems },
    }),
    async (c) => {
      const inv = await visibleInvoice(billing, c.var.actor, c.req.valid('param').id);
      return c.json(await billing.reissue(inv.id, c.var.actor.id), 201);
    },
  );
}
