/**
 * The schema of `tollgate.yaml`: one provider's APIs, plans (with their price), products and
 * webhook endpoints, referring to each other by name, never by id. Built from the very zod
 * schemas that validate the admin API (catalog, billing, marketplace, webhooks), so a file
 * that passes here passes there; `fileJsonSchema()` turns it into the JSON Schema that
 * editors autocomplete (docs/tollgate.schema.json).
 *
 * Identity: an API and a plan are known by `name`, a product by `productCode`, a webhook
 * endpoint by `url` — each unique within the file.
 */
import { z } from 'zod';
import { priceSchema } from '../../billing/index.js';
import { schemas as catalog } from '../../catalog/index.js';
// The schema file itself, not the module's front door: the CLI must not load the AWS clients.
import { productCreate } from '../../marketplace/products.js';
import { endpointInputSchema } from '../../webhooks/index.js';

const route = catalog.routeInput
  .omit({ id: true })
  .extend({ throttle: catalog.throttle.nullable().default(null) });

export const apiSpec = z.strictObject({
  name: catalog.apiCreate.shape.name,
  upstreamUrl: catalog.apiCreate.shape.upstreamUrl,
  pathPrefix: catalog.pathPrefix.nullable().default(null),
  host: catalog.hostname.nullable().default(null),
  stripPrefix: z.boolean().default(true),
  timeoutMs: catalog.apiCreate.shape.timeoutMs,
  routes: z
    .array(route)
    .max(catalog.LIMITS.routes)
    .default(() => catalog.apiCreate.shape.routes.parse(undefined).map((r) => ({ ...r, throttle: null }))),
});

/** A route named from a plan: `"<api name> <METHOD> <path>"`, e.g. `"Weather GET /forecast"`. */
export const routeRef = z
  .string()
  .regex(/^.+ (GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS|\*) \/.*$/, 'must be "<api name> <METHOD> <path>"');

export const planSpec = z.strictObject({
  name: catalog.planCreate.shape.name,
  description: z.string().max(5000).default(''),
  apis: z.array(z.string().min(1)).max(catalog.LIMITS.apiIdsPerPlan).default([]).describe('API names'),
  throttle: catalog.throttle.nullable().default(null),
  quota: catalog.quota.nullable().default(null),
  routeThrottles: z.record(routeRef, catalog.throttle).default({}),
  overQuota: z.enum(['block', 'overage']).default('block'),
  billable: z.enum(['lt500', '2xx']).default('lt500'),
  failureMode: z.enum(['open', 'closed']).default('open'),
  price: priceSchema.optional().describe('The current price; a change adds a price version'),
});

const p = productCreate.shape;
export const productSpec = z.strictObject({
  productCode: p.productCode.unwrap(),
  title: p.title,
  summary: p.summary,
  description: p.description,
  apis: z.array(z.string().min(1)).max(100).default([]).describe('API names'),
  plans: z.array(z.string().min(1)).min(1).max(100).describe('Plan names'),
  visibility: p.visibility,
  fulfilment: p.fulfilment,
  externalProductCode: p.externalProductCode.unwrap().nullable().default(null),
  registrationUrl: p.registrationUrl.unwrap().nullable().default(null),
  notificationUrl: p.notificationUrl.unwrap().nullable().default(null),
  published: z.boolean().default(false),
});

export const webhookSpec = z.strictObject({
  url: endpointInputSchema.shape.url,
  enabled: z.boolean().default(true),
});

export const fileSchema = z
  .strictObject({
    version: z.literal(1).default(1),
    provider: z
      .string()
      .trim()
      .min(1)
      .max(200)
      .optional()
      .describe("The provider's name: required with an operator token, checked with a provider token"),
    apis: z.array(apiSpec).default([]),
    plans: z.array(planSpec).default([]),
    products: z.array(productSpec).default([]),
    webhooks: z.array(webhookSpec).default([]),
  })
  .superRefine((f, ctx) => {
    unique(ctx, f.apis, 'apis', 'name');
    unique(ctx, f.plans, 'plans', 'name');
    unique(ctx, f.products, 'products', 'productCode');
    unique(ctx, f.webhooks, 'webhooks', 'url');
    const apis = new Map(f.apis.map((a) => [a.name, a]));
    const plans = new Set(f.plans.map((pl) => pl.name));
    f.plans.forEach((pl, i) => {
      pl.apis.forEach((name, j) => {
        if (!apis.has(name))
          ctx.addIssue({
            code: 'custom',
            path: ['plans', i, 'apis', j],
            message: `no API named ${name} in this file`,
          });
      });
      for (const ref of Object.keys(pl.routeThrottles)) {
        const r = resolveRouteRef(ref, apis);
        if (typeof r === 'string')
          ctx.addIssue({ code: 'custom', path: ['plans', i, 'routeThrottles', ref], message: r });
        else if (!pl.apis.includes(r.api))
          ctx.addIssue({
            code: 'custom',
            path: ['plans', i, 'routeThrottles', ref],
            message: `the plan does not grant API ${r.api}`,
          });
      }
    });
    f.products.forEach((pr, i) => {
      pr.apis.forEach((name, j) => {
        if (!apis.has(name))
          ctx.addIssue({
            code: 'custom',
            path: ['products', i, 'apis', j],
            message: `no API named ${name} in this file`,
          });
      });
      pr.plans.forEach((name, j) => {
        if (!plans.has(name))
          ctx.addIssue({
            code: 'custom',
            path: ['products', i, 'plans', j],
            message: `no plan named ${name} in this file`,
          });
      });
    });
  });

export type TollgateFile = z.output<typeof fileSchema>;
export type ApiSpec = z.output<typeof apiSpec>;
export type PlanSpec = z.output<typeof planSpec>;
export type ProductSpec = z.output<typeof productSpec>;
export type WebhookSpec = z.output<typeof webhookSpec>;
export type RouteSpec = ApiSpec['routes'][number];

/** `"Weather GET /forecast"` → the API's name and the route's method and path, or why not. */
export function resolveRouteRef(
  ref: string,
  apis: ReadonlyMap<string, { routes: ReadonlyArray<{ method: string; path: string }> }>,
): { api: string; method: string; path: string } | string {
  const m = /^(.+) (\S+) (\/\S*)$/.exec(ref);
  if (!m) return 'must be "<api name> <METHOD> <path>"';
  const [, api, method, path] = m as unknown as [string, string, string, string];
  const spec = apis.get(api);
  if (!spec) return `no API named ${api} in this file`;
  if (!spec.routes.some((r) => r.method === method && r.path === path))
    return `API ${api} has no route ${method} ${path}`;
  return { api, method, path };
}

export const routeRefOf = (api: string, r: { method: string; path: string }) =>
  `${api} ${r.method} ${r.path}`;

function unique<T>(ctx: z.RefinementCtx, items: T[], list: string, key: keyof T & string) {
  const seen = new Set<unknown>();
  items.forEach((item, i) => {
    if (seen.has(item[key]))
      ctx.addIssue({ code: 'custom', path: [list, i, key], message: `${String(item[key])} appears twice` });
    seen.add(item[key]);
  });
}

/** The JSON Schema of the file (input side: defaults are optional), for editors. */
export function fileJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(fileSchema, { io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  return {
    ...schema,
    title: 'tollgate.yaml',
    description: "A provider's APIs, plans, prices, products and webhook endpoints (tollgate apply -f).",
  };
}
