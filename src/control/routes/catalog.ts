/**
 * The catalog resources that are exactly list / create / get / update / delete:
 *
 * - /providers — sellers. Operators create and delete; a provider token sees only itself.
 * - /apis — upstream APIs with their routes (a PATCH with `routes` replaces them all).
 * - /plans — usage plans: throttle, quota, per-route throttles, over-quota behaviour.
 * - /consumers — buyers. A provider token sees the ones it created or that subscribe to its
 *   plans.
 *
 * Each is one row: its schemas and the summaries of its five routes, in that order.
 */
import type { OpenAPIHono, z } from '@hono/zod-openapi';
import { type Actor, type Catalog, schemas as s } from '../../catalog/index.js';
import type { Env } from '../env.js';
import { resourceRoutes } from '../resource.js';
import { Api, Consumer, json, Plan, Provider, page } from '../schemas.js';

interface Crud<C, U> {
  list(actor: Actor, query: z.output<typeof s.pageQuery>): Promise<unknown>;
  create(actor: Actor, input: C): Promise<unknown>;
  get(actor: Actor, id: string): Promise<unknown>;
  update(actor: Actor, id: string, input: U): Promise<unknown>;
  delete(actor: Actor, id: string): Promise<void>;
}

interface Resource<C extends z.ZodType, U extends z.ZodType> {
  item: z.ZodType;
  /** The schema names in the OpenAPI document: `${name}Page`, `${name}Create`, `${name}Update`. */
  name: string;
  create: C;
  update: U;
  /** Descriptions of the page and of one item. */
  says: [string, string];
  /** Summaries of list, create, get, update, delete. */
  summaries: [string, string, string, string, string];
  service: (catalog: Catalog) => Crud<z.output<C>, z.output<U>>;
}

const resource = <C extends z.ZodType, U extends z.ZodType>(r: Resource<C, U>) => r;

const resources = {
  providers: resource({
    item: Provider,
    name: 'Provider',
    create: s.providerCreate,
    update: s.providerUpdate,
    says: ['A page of providers', 'The provider'],
    summaries: [
      'List providers',
      'Create a provider (operator)',
      'Get a provider',
      'Update a provider',
      'Delete a provider with nothing left in it (operator)',
    ],
    service: (c) => c.providers,
  }),
  apis: resource({
    item: Api,
    name: 'Api',
    create: s.apiCreate,
    update: s.apiUpdate,
    says: ['A page of APIs', 'The api'],
    summaries: [
      'List apis',
      'Create an API with its routes',
      'Get api',
      'Update api',
      'Delete an API no plan grants',
    ],
    service: (c) => c.apis,
  }),
  plans: resource({
    item: Plan,
    name: 'Plan',
    create: s.planCreate,
    update: s.planUpdate,
    says: ['A page of plans', 'The plan'],
    summaries: [
      'List plans',
      'Create a usage plan',
      'Get plan',
      'Update plan',
      'Delete a plan without subscriptions',
    ],
    service: (c) => c.plans,
  }),
  consumers: resource({
    item: Consumer,
    name: 'Consumer',
    create: s.consumerCreate,
    update: s.consumerUpdate,
    says: ['A page of consumers', 'The consumer'],
    summaries: [
      'List consumers',
      'Create a consumer',
      'Get consumer',
      'Update consumer',
      'Delete a consumer without subscriptions',
    ],
    service: (c) => c.consumers,
  }),
};

function register<C extends z.ZodType, U extends z.ZodType>(
  app: OpenAPIHono<Env>,
  catalog: Catalog,
  path: string,
  { item, name, create, update, says, summaries, service }: Resource<C, U>,
): void {
  const svc = service(catalog);
  const r = resourceRoutes(app, path, [path.slice(1)]);
  r.list(summaries[0], s.pageQuery, json(page(item, `${name}Page`), says[0]), svc.list);
  r.create(summaries[1], create.meta({ id: `${name}Create` }), json(item, 'Created'), svc.create);
  r.get(summaries[2], json(item, says[1]), svc.get);
  r.update(summaries[3], update.meta({ id: `${name}Update` }), json(item, 'Updated'), svc.update);
  r.remove(summaries[4], svc.delete);
}

/** Providers, APIs, plans and consumers, in that order (the order of the OpenAPI document). */
export function registerCatalogResources(app: OpenAPIHono<Env>, catalog: Catalog): void {
  for (const [name, r] of Object.entries(resources)) register(app, catalog, `/${name}`, r);
}
