/**
 * Provider console: plans and prices. The editor is one form (plan limits + price); it is
 * validated on the server at submit with a message per field, and, when scripts run,
 * validated as you type with a live price preview for sample usage (editor.js → POST
 * /console/plans/preview, JSON, CSRF header).
 */
import type { Hono } from 'hono';
import { priceSchema } from '../../billing/index.js';
import { type ApiView, enforcedQuota, enforcedThrottle, type PlanView } from '../../catalog/index.js';
import { isTollgateError } from '../../shared/index.js';
import { type PortalDeps, providerActor } from '../deps.js';
import type { PortalContext, PortalEnv } from '../http/env.js';
import { errorPage, render, unlessMissing } from '../http/render.js';
import { chargeLines, feeLine } from '../pricing.js';
import { ErrorSummary, type Errors, errorsOf, Field, Select, Table, TextArea } from '../views/components.js';
import { CsrfField } from '../views/layout.js';
import {
  CHARGE_ROWS,
  type FormValues,
  MODELS,
  parsePlanForm,
  planValues,
  previewSamples,
} from './plan-form.js';

const one = (v: FormValues, k: string): string => {
  const x = v[k];
  return Array.isArray(x) ? (x[0] ?? '') : (x ?? '');
};

function formValues(c: PortalContext): FormValues {
  const out: FormValues = {};
  for (const [k, v] of Object.entries(c.get('form'))) {
    if (k === '_csrf') continue;
    const name = k.endsWith('[]') ? k.slice(0, -2) : k;
    if (Array.isArray(v)) out[name] = v.filter((x): x is string => typeof x === 'string');
    else if (typeof v === 'string') out[name] = name === 'apiIds' ? [v] : v;
  }
  return out;
}

const FIELD_LABELS: Record<string, string> = {
  name: 'Name',
  apiIds: 'APIs',
  'throttle.rateLimit': 'Rate limit',
  'throttle.burstLimit': 'Burst',
  'quota.limit': 'Quota',
  currency: 'Currency',
  recurringFee: 'Recurring fee',
  setupFee: 'Setup fee',
  trialDays: 'Trial days',
};

/** `charges[1].unitPrice` → "Charge 2, unit price". */
function labelsFor(errors: Errors): Record<string, string> {
  // The form's fields top to bottom, then the charges it has errors on, in their order.
  const out: Record<string, string> = { ...FIELD_LABELS };
  const charges = Object.keys(errors)
    .filter((f) => f.startsWith('charges['))
    .sort((a, b) => Number(/\d+/.exec(a)?.[0]) - Number(/\d+/.exec(b)?.[0]));
  for (const f of charges) {
    const m = /^charges\[(\d+)\]\.(\w+)/.exec(f);
    out[f] = m
      ? `Charge ${Number(m[1]) + 1}, ${m[2]!.replace(/([A-Z])/g, ' $1').toLowerCase()}`
      : (FIELD_LABELS[f] ?? f);
  }
  return out;
}

export function planPages(app: Hono<PortalEnv>, deps: PortalDeps) {
  function editor(
    c: PortalContext,
    plan: PlanView | null,
    apis: ApiView[],
    v: FormValues,
    errors: Errors,
    status: 200 | 400 = 200,
    saved = false,
  ) {
    const chosen = Array.isArray(v.apiIds) ? v.apiIds : v.apiIds ? [v.apiIds] : [];
    const action = plan ? `/console/plans/${plan.id}` : '/console/plans';
    return render(
      c,
      plan ? `Plan ${plan.name}` : 'New plan',
      <section>
        <p>
          <a href="/console/plans">← Plans</a>
        </p>
        <h1>{plan ? `Edit plan ${plan.name}` : 'New plan'}</h1>
        <ErrorSummary errors={errors} labels={labelsFor(errors)} />
        <form method="post" action={action} id="plan-form" novalidate>
          <CsrfField token={c.get('csrf')} />
          <div class="grid2">
            <fieldset>
              <legend>Plan</legend>
              <Field label="Name" name="name" value={one(v, 'name')} errors={errors} required />
              <TextArea
                label="Description"
                name="description"
                value={one(v, 'description')}
                errors={errors}
                rows={2}
              />
              <fieldset class={`field${errors.apiIds ? ' invalid' : ''}`} data-field="apiIds">
                <legend>APIs in this plan</legend>
                {apis.length === 0 ? <p class="empty">Create an API first.</p> : null}
                {apis.map((a) => (
                  <label class="choice">
                    <input type="checkbox" name="apiIds" value={a.id} checked={chosen.includes(a.id)} />{' '}
                    {a.name}
                  </label>
                ))}
                <small class="error">{errors.apiIds ?? ''}</small>
              </fieldset>
              <Field
                label="Rate limit (requests per second)"
                name="throttle.rateLimit"
                value={one(v, 'throttle.rateLimit')}
                errors={errors}
                inputmode="decimal"
                hint="Leave both empty for no throttle."
              />
              <Field
                label="Burst (requests)"
                name="throttle.burstLimit"
                value={one(v, 'throttle.burstLimit')}
                errors={errors}
                inputmode="numeric"
              />
              <Field
                label="Quota (requests per period)"
                name="quota.limit"
                value={one(v, 'quota.limit')}
                errors={errors}
                inputmode="numeric"
                hint="Leave empty for no quota."
              />
              <Select
                label="Quota period"
                name="quota.period"
                value={one(v, 'quota.period') || 'MONTH'}
                errors={errors}
                options={[
                  ['DAY', 'Day'],
                  ['WEEK', 'Week'],
                  ['MONTH', 'Month'],
                ]}
              />
              <Select
                label="Past the quota"
                name="overQuota"
                value={one(v, 'overQuota') || 'block'}
                errors={errors}
                options={[
                  ['block', 'Refuse calls (429)'],
                  ['overage', 'Serve and bill the overage'],
                ]}
              />
            </fieldset>
            <fieldset>
              <legend>Price</legend>
              <Field
                label="Currency"
                name="currency"
                value={one(v, 'currency') || 'USD'}
                errors={errors}
                hint="ISO 4217, e.g. USD, EUR."
              />
              <Select
                label="Billing interval"
                name="interval"
                value={one(v, 'interval') || 'month'}
                errors={errors}
                options={[
                  ['month', 'Monthly'],
                  ['year', 'Yearly'],
                ]}
              />
              <Select
                label="Periods begin"
                name="billingTime"
                value={one(v, 'billingTime') || 'anniversary'}
                errors={errors}
                hint="Calendar: on the 1st (UTC); the first period runs to the next 1st, its fee prorated."
                options={[
                  ['anniversary', 'When the subscription starts (anniversary)'],
                  ['calendar', 'On the 1st of the month or year (calendar)'],
                ]}
              />
              <Field
                label="Recurring fee"
                name="recurringFee"
                value={one(v, 'recurringFee')}
                errors={errors}
                inputmode="decimal"
                placeholder="0"
              />
              <Field
                label="Setup fee"
                name="setupFee"
                value={one(v, 'setupFee')}
                errors={errors}
                inputmode="decimal"
                placeholder="0"
              />
              <Field
                label="Trial days"
                name="trialDays"
                value={one(v, 'trialDays')}
                errors={errors}
                inputmode="numeric"
                placeholder="0"
              />
            </fieldset>
          </div>
          <h2>Usage charges</h2>
          <p class="muted">
            One row per metered dimension (leave a row's dimension empty to skip it). Prices are decimals,
            e.g. 0.00035.
          </p>
          {Array.from({ length: CHARGE_ROWS }, (_, i) => {
            const k = (f: string) => `charges[${i}].${f}`;
            return (
              <fieldset class="charge">
                <legend>Charge {i + 1}</legend>
                <div class="row">
                  <Field
                    label="Dimension"
                    name={k('dimension')}
                    value={one(v, k('dimension'))}
                    errors={errors}
                    placeholder="requests"
                  />
                  <Select
                    label="Model"
                    name={k('model')}
                    value={one(v, k('model')) || 'per_unit'}
                    errors={errors}
                    options={MODELS.map((m) => [m, m.replace('_', ' ')] as [string, string])}
                  />
                  <Field
                    label="Included units"
                    name={k('includedUnits')}
                    value={one(v, k('includedUnits'))}
                    errors={errors}
                    inputmode="numeric"
                    placeholder="0"
                  />
                </div>
                <div class="row">
                  <Field
                    label="Unit price (per unit)"
                    name={k('unitPrice')}
                    value={one(v, k('unitPrice'))}
                    errors={errors}
                    inputmode="decimal"
                  />
                  <Field
                    label="Package size (package)"
                    name={k('packageSize')}
                    value={one(v, k('packageSize'))}
                    errors={errors}
                    inputmode="numeric"
                  />
                  <Field
                    label="Package price (package)"
                    name={k('packagePrice')}
                    value={one(v, k('packagePrice'))}
                    errors={errors}
                    inputmode="decimal"
                  />
                </div>
                <TextArea
                  label="Tiers (graduated/volume): one per line, upTo: unitPrice, * for the rest"
                  name={k('tiers')}
                  value={one(v, k('tiers'))}
                  errors={errors}
                  rows={2}
                  placeholder={'1000: 0.001\n*: 0.0005'}
                />
              </fieldset>
            );
          })}
          <h2>Preview</h2>
          <div class="preview" id="price-preview" aria-live="polite">
            <p class="muted">With scripts on, what sample usage would cost appears here as you type.</p>
          </div>
          <p class="actions">
            <button type="submit">{plan ? 'Save plan' : 'Create plan'}</button>
          </p>
        </form>
      </section>,
      { status, scripts: ['editor.js'], notice: saved ? { kind: 'ok', text: 'Saved.' } : null },
    );
  }

  async function apisOf(c: PortalContext) {
    return (await deps.catalog.apis.list(providerActor(c.get('user')!), { limit: 200 })).items;
  }

  app.get('/console/plans', async (c) => {
    const actor = providerActor(c.get('user')!);
    const plans = (await deps.catalog.plans.list(actor, { limit: 200 })).items;
    const prices = await Promise.all(plans.map((p) => unlessMissing(deps.billing?.getPrice(p.id))));
    return render(
      c,
      'Plans',
      <section>
        <h1>Plans and prices</h1>
        <p>
          <a class="button" href="/console/plans/new">
            New plan
          </a>
        </p>
        <Table head={['Plan', 'Limits', 'Price']} rows={plans.length} empty="No plan yet.">
          {plans.map((p, i) => (
            <tr>
              <td>
                <a href={`/console/plans/${p.id}`}>{p.name}</a>
              </td>
              <td>
                {quotaLine(enforcedQuota(p.quota))}
                {enforcedThrottle(p.throttle) ? `, ${p.throttle!.rateLimit}/s` : ''}
              </td>
              <td>
                {prices[i] ? feeLine(prices[i]!.price) : 'not priced'}
                {prices[i] ? chargeLines(prices[i]!.price).map((l) => <div class="muted">{l}</div>) : null}
              </td>
            </tr>
          ))}
        </Table>
      </section>,
    );
  });

  app.get('/console/plans/new', async (c) => editor(c, null, await apisOf(c), { currency: 'USD' }, {}));

  app.get('/console/plans/:id', async (c) => {
    const actor = providerActor(c.get('user')!);
    const plan = await deps.catalog.plans.get(actor, c.req.param('id'));
    const rec = await unlessMissing(deps.billing?.getPrice(plan.id));
    return editor(
      c,
      plan,
      await apisOf(c),
      planValues(plan, rec?.price ?? null),
      {},
      200,
      c.req.query('saved') === '1',
    );
  });

  async function save(c: PortalContext, plan: PlanView | null) {
    const actor = providerActor(c.get('user')!);
    const apis = await apisOf(c);
    const v = formValues(c);
    const parsed = parsePlanForm(
      v,
      apis.map((a) => a.id),
    );
    if (Object.keys(parsed.errors).length) return editor(c, plan, apis, v, parsed.errors, 400);
    try {
      const saved = plan
        ? await deps.catalog.plans.update(actor, plan.id, parsed.plan)
        : await deps.catalog.plans.create(actor, parsed.plan);
      if (deps.billing && parsed.price) {
        const current = await unlessMissing(deps.billing.getPrice(saved.id));
        const next = priceSchema.parse(parsed.price);
        if (!current || JSON.stringify(current.price) !== JSON.stringify(next))
          await deps.billing.setPrice(saved.id, parsed.price, actor.id);
      }
      return c.redirect(`/console/plans/${saved.id}?saved=1`, 303);
    } catch (err) {
      if (isTollgateError(err) && err.code === 'VALIDATION_FAILED')
        return editor(c, plan, apis, v, errorsOf(err.issues), 400);
      throw err;
    }
  }

  app.post('/console/plans', (c) => save(c, null));

  app.post('/console/plans/preview', async (c) => {
    const apis = await apisOf(c);
    const parsed = parsePlanForm(
      formValues(c),
      apis.map((a) => a.id),
    );
    const priceErrors = Object.keys(parsed.errors).some((k) =>
      /^(charges|currency|interval|billingTime|recurringFee|setupFee|trialDays)/.test(k),
    );
    if (priceErrors || !parsed.price) return c.json({ ok: false, errors: parsed.errors });
    return c.json({ ok: true, errors: parsed.errors, samples: previewSamples(parsed.price) });
  });

  app.post('/console/plans/:id', async (c) => {
    const actor = providerActor(c.get('user')!);
    const plan = await unlessMissing(deps.catalog.plans.get(actor, c.req.param('id')));
    if (!plan) return errorPage(c, 404, 'There is no such plan in your account.');
    return save(c, plan);
  });
}

const quotaLine = (q: { limit: number; period: string } | null) =>
  q ? `${q.limit.toLocaleString('en-US')} / ${q.period.toLowerCase()}` : 'no quota';
