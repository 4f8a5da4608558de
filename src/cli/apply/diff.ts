/**
 * Desired (the file) against current (the server), as an ordered list of changes: what
 * `diff` prints and `apply` carries out. Pure: no I/O. Entries are matched by identity
 * (API and plan by name, product by productCode, webhook endpoint by url); an update lists
 * each changed field with its value before and after. Order is the order of dependencies —
 * provider, APIs, plans, prices, products, webhooks — and deletions (only with `prune`)
 * come last, in reverse.
 */
import type { ApiSpec, PlanSpec, ProductSpec, TollgateFile, WebhookSpec } from './schema.js';
import type { State } from './state.js';

export type Entity = 'provider' | 'api' | 'plan' | 'price' | 'product' | 'webhook';

export interface FieldChange {
  field: string;
  before: unknown;
  after: unknown;
}

/** One change. `id` is the server's (null for a create), `spec` the wanted value (null for a delete). */
export interface Change {
  op: 'create' | 'update' | 'delete';
  entity: Entity;
  name: string;
  id: string | null;
  spec: unknown;
  before: unknown;
  fields: FieldChange[];
}

const create = (entity: Entity, name: string, spec: unknown): Change => ({
  op: 'create',
  entity,
  name,
  id: null,
  spec,
  before: null,
  fields: [],
});

export function diff(file: TollgateFile, state: State, opts: { prune: boolean }): Change[] {
  const out: Change[] = [];
  if (!state.provider && file.provider) out.push(create('provider', file.provider, null));
  const apis = compare<ApiSpec>('api', file.apis, state.apis, (a) => a.name);
  const plans = compare<Omit<PlanSpec, 'price'>>(
    'plan',
    file.plans.map(withoutPrice),
    mapValues(state.plans, withoutPrice),
    (p) => p.name,
  );
  const prices: Change[] = [];
  for (const plan of file.plans) {
    if (plan.price === undefined) continue; // a plan without `price` leaves its price alone
    const current = state.plans.get(plan.name)?.spec.price;
    if (current === undefined) prices.push(create('price', plan.name, plan.price));
    else {
      const fields = fieldChanges(current, plan.price, 'price');
      if (fields.length)
        prices.push({
          op: 'update',
          entity: 'price',
          name: plan.name,
          id: null,
          fields,
          spec: plan.price,
          before: current,
        });
    }
  }
  const products = compare<ProductSpec>('product', file.products, state.products, (p) => p.productCode);
  const webhooks = compare<WebhookSpec>('webhook', file.webhooks, state.webhooks, (w) => w.url);
  const upserts = (c: Change[]) => c.filter((x) => x.op !== 'delete');
  out.push(...upserts(apis), ...upserts(plans), ...prices, ...upserts(products), ...upserts(webhooks));
  if (opts.prune) {
    const deletes = (c: Change[]) => c.filter((x) => x.op === 'delete');
    out.push(...deletes(webhooks), ...deletes(products), ...deletes(plans), ...deletes(apis));
  }
  return out;
}

function compare<S>(
  entity: Entity,
  desired: S[],
  current: ReadonlyMap<string, { id: string; spec: S }>,
  key: (s: S) => string,
): Change[] {
  const out: Change[] = [];
  const wanted = new Set<string>();
  for (const spec of desired) {
    const name = key(spec);
    wanted.add(name);
    const have = current.get(name);
    if (!have) {
      out.push(create(entity, name, spec));
      continue;
    }
    const fields = fieldChanges(have.spec, spec);
    if (fields.length) out.push({ op: 'update', entity, name, id: have.id, fields, spec, before: have.spec });
  }
  for (const [name, have] of current)
    if (!wanted.has(name))
      out.push({ op: 'delete', entity, name, id: have.id, spec: null, before: have.spec, fields: [] });
  return out;
}

/**
 * Changed leaves, by path (`price.charges[0].unitPrice`): plain objects and equally long
 * arrays are walked, anything else is compared whole.
 */
export function fieldChanges(before: unknown, after: unknown, at = ''): FieldChange[] {
  if (isPlain(before) && isPlain(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((k) => fieldChanges(before[k], after[k], at ? `${at}.${k}` : k));
  }
  if (Array.isArray(before) && Array.isArray(after) && before.length === after.length)
    return before.flatMap((b, i) => fieldChanges(b, after[i], `${at}[${i}]`));
  return canonical(before) === canonical(after) ? [] : [{ field: at || '(value)', before, after }];
}

/** JSON with sorted keys, so that two equal values print the same. */
export function canonical(v: unknown): string {
  return (
    JSON.stringify(v, (_k, val: unknown) =>
      isPlain(val)
        ? Object.fromEntries(
            Object.keys(val)
              .sort()
              .map((k) => [k, val[k]]),
          )
        : val,
    ) ?? 'undefined'
  );
}

const isPlain = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function withoutPrice(p: PlanSpec): Omit<PlanSpec, 'price'> {
  const { price: _price, ...rest } = p;
  return rest;
}

function mapValues<K, A, B>(
  m: ReadonlyMap<K, { id: string; spec: A }>,
  f: (a: A) => B,
): Map<K, { id: string; spec: B }> {
  return new Map([...m].map(([k, v]) => [k, { id: v.id, spec: f(v.spec) }]));
}

/** Human text: one line per change, changed fields indented beneath. */
export function renderChanges(changes: Change[]): string {
  if (changes.length === 0) return 'No changes.';
  const sign = { create: '+', update: '~', delete: '-' } as const;
  const lines: string[] = [];
  for (const c of changes) {
    lines.push(`${sign[c.op]} ${c.entity} ${c.name}`);
    if (c.op === 'update')
      for (const f of c.fields) lines.push(`    ${f.field}: ${show(f.before)} → ${show(f.after)}`);
  }
  const count = (op: Change['op']) => changes.filter((c) => c.op === op).length;
  lines.push('', `${count('create')} to create, ${count('update')} to update, ${count('delete')} to delete.`);
  return lines.join('\n');
}

function show(v: unknown): string {
  if (v === undefined) return '(unset)';
  const s = canonical(v);
  return s.length > 200 ? `${s.slice(0, 197)}…` : s;
}
