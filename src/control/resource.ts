/**
 * The routes of one admin resource, each written once: a page of items, create, get, update,
 * delete, and actions on one item (`POST /keys/{id}/enable`). A route file says what differs
 * (path, schemas, summaries, the service call); the request validation, the actor, the status
 * codes and the refusals documented in the OpenAPI document are the same for every resource.
 */
import { createRoute, type OpenAPIHono, type RouteConfig, type z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { Actor } from '../catalog/index.js';
import type { Env } from './env.js';
import { IdParam, type json, jsonBody, NoContent, problems } from './schemas.js';

type Method = 'get' | 'post' | 'patch' | 'delete';
type Ok = ReturnType<typeof json>;
type Query = NonNullable<NonNullable<RouteConfig['request']>['query']>;

/** What the handler of a route reads: the validated id, query and body. */
interface Input {
  id: string;
  query: unknown;
  body: unknown;
}

export interface ResourceRoutes {
  /** GET `path`: a page of items, filtered by `query`. */
  list<Q extends Query>(
    summary: string,
    query: Q,
    ok: Ok,
    run: (actor: Actor, query: z.output<Q>) => Promise<unknown>,
  ): void;
  /** POST `path` (or `path` + `suffix`, as `/keys:import`): 201 with what was created. */
  create<B extends z.ZodType>(
    summary: string,
    body: B,
    ok: Ok,
    run: (actor: Actor, body: z.output<B>) => Promise<unknown>,
    suffix?: string,
  ): void;
  /** GET `path/{id}`. */
  get(summary: string, ok: Ok, run: (actor: Actor, id: string) => Promise<unknown>): void;
  /** PATCH `path/{id}`: 200 with the item as it is now. */
  update<B extends z.ZodType>(
    summary: string,
    body: B,
    ok: Ok,
    run: (actor: Actor, id: string, body: z.output<B>) => Promise<unknown>,
  ): void;
  /** DELETE `path/{id}`: 204. */
  remove(summary: string, run: (actor: Actor, id: string) => Promise<unknown>): void;
  /** `method` `path/{id}` + `suffix` (or DELETE `path/{id}` that keeps the record): 200 with the item. */
  act(
    method: Method,
    suffix: string,
    summary: string,
    ok: Ok,
    run: (actor: Actor, id: string) => Promise<unknown>,
  ): void;
}

export function resourceRoutes(app: OpenAPIHono<Env>, path: string, tags: string[]): ResourceRoutes {
  const one = `${path}/{id}`;
  const add = (
    route: Omit<RouteConfig, 'tags'>,
    status: 200 | 201 | 204,
    run: (actor: Actor, input: Input) => Promise<unknown>,
  ) => {
    const handler = async (c: Context<Env>) => {
      // The route's schemas have validated these already (a failure is a 400 problem).
      const valid = c.req as unknown as { valid(target: string): unknown };
      const input: Input = {
        id: route.request?.params ? (valid.valid('param') as { id: string }).id : '',
        query: route.request?.query ? valid.valid('query') : undefined,
        body: route.request?.body ? valid.valid('json') : undefined,
      };
      const out = await run(c.var.actor, input);
      return status === 204 ? c.body(null, 204) : c.json(out as object, status);
    };
    // Key order as the OpenAPI document lists it: method, path, tags, then the rest.
    const { method, path: at, ...rest } = route;
    app.openapi(createRoute({ method, path: at, tags, ...rest }), handler as never);
  };
  return {
    list: (summary, query, ok, run) =>
      add(
        { method: 'get', path, summary, request: { query }, responses: { 200: ok, ...problems } },
        200,
        (actor, i) => run(actor, i.query as z.output<typeof query>),
      ),
    create: (summary, body, ok, run, suffix = '') =>
      add(
        {
          method: 'post',
          path: path + suffix,
          summary,
          request: jsonBody(body),
          responses: { 201: ok, ...problems },
        },
        201,
        (actor, i) => run(actor, i.body as z.output<typeof body>),
      ),
    get: (summary, ok, run) =>
      add(
        {
          method: 'get',
          path: one,
          summary,
          request: { params: IdParam },
          responses: { 200: ok, ...problems },
        },
        200,
        (actor, i) => run(actor, i.id),
      ),
    update: (summary, body, ok, run) =>
      add(
        {
          method: 'patch',
          path: one,
          summary,
          request: { params: IdParam, ...jsonBody(body) },
          responses: { 200: ok, ...problems },
        },
        200,
        (actor, i) => run(actor, i.id, i.body as z.output<typeof body>),
      ),
    remove: (summary, run) =>
      add(
        {
          method: 'delete',
          path: one,
          summary,
          request: { params: IdParam },
          responses: { ...NoContent, ...problems },
        },
        204,
        (actor, i) => run(actor, i.id),
      ),
    act: (method, suffix, summary, ok, run) =>
      add(
        {
          method,
          path: one + suffix,
          summary,
          request: { params: IdParam },
          responses: { 200: ok, ...problems },
        },
        200,
        (actor, i) => run(actor, i.id),
      ),
  };
}
