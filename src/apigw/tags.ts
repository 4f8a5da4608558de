/**
 * Resource tags of usage plans and API keys: TagResource (`PUT /tags/{arn}`, 204),
 * UntagResource (`DELETE /tags/{arn}?tagKeys=…`, 204) and GetTags (`GET /tags/{arn}`,
 * `{tags}`), with the ARNs API Gateway uses — `arn:{partition}:apigateway:{region}::/usageplans/{id}`
 * and `…::/apikeys/{id}` — any partition and region. Tags are also set by CreateUsagePlan /
 * CreateApiKey and returned on Get/Create. Limits as AWS tagging: at most 50 tags, a key
 * 1–128 characters not starting with `aws:`, a value at most 256.
 */
import type { Hono } from 'hono';
import type { Actor } from '../catalog/index.js';
import type { Db, Tx } from '../store/index.js';
import { type AttachDeps, loadKeyRow } from './attach.js';
import type { ApigwEnv } from './auth.js';
import { badRequest, notFoundAws } from './errors.js';
import { visiblePlan } from './resources.js';
import { jsonOf } from './util.js';

const MAX_TAGS = 50;

export type Tags = Record<string, string>;

/** Validates a `tags` map from a request body (undefined when absent). */
export function tagsIn(v: unknown, field = 'tags'): Tags | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw badRequest(`${field}: must be a map of strings`);
  const out: Tags = {};
  for (const [k, val] of Object.entries(v)) {
    if (k.length < 1 || k.length > 128) throw badRequest(`${field}.${k}: a tag key is 1-128 characters`);
    if (k.toLowerCase().startsWith('aws:')) throw badRequest(`${field}.${k}: the aws: prefix is reserved`);
    if (typeof val !== 'string' || val.length > 256)
      throw badRequest(`${field}.${k}: a tag value is a string of at most 256 characters`);
    out[k] = val;
  }
  return out;
}

export async function tagsOf(db: Db | Tx, resourceId: string): Promise<Tags> {
  const rows = await db
    .selectFrom('apigw_tags')
    .select(['tag_key', 'tag_value'])
    .where('resource_id', '=', resourceId)
    .orderBy('tag_key')
    .execute();
  return Object.fromEntries(rows.map((r) => [r.tag_key, r.tag_value]));
}

/** Adds or overwrites `tags` on the resource (one transaction; refused past 50 tags). */
export async function putTags(db: Db, resourceId: string, tags: Tags): Promise<void> {
  if (Object.keys(tags).length === 0) return;
  await db.transaction().execute(async (tx) => {
    const merged = { ...(await tagsOf(tx, resourceId)), ...tags };
    if (Object.keys(merged).length > MAX_TAGS)
      throw badRequest(`tags: a resource holds at most ${MAX_TAGS} tags`);
    await tx
      .deleteFrom('apigw_tags')
      .where('resource_id', '=', resourceId)
      .where('tag_key', 'in', Object.keys(tags))
      .execute();
    await tx
      .insertInto('apigw_tags')
      .values(Object.entries(tags).map(([k, v]) => ({ resource_id: resourceId, tag_key: k, tag_value: v })))
      .execute();
  });
}

export async function dropTags(db: Db, resourceId: string, keys?: string[]): Promise<void> {
  let q = db.deleteFrom('apigw_tags').where('resource_id', '=', resourceId);
  if (keys) {
    if (keys.length === 0) return;
    q = q.where('tag_key', 'in', keys);
  }
  await q.execute();
}

/** The plan or key id an API Gateway ARN names, checked visible to the actor. */
async function resourceOf(deps: AttachDeps, actor: Actor, arn: string): Promise<string> {
  const m = /^arn:[a-z-]+:apigateway:[a-z0-9-]*::\/(usageplans|apikeys)\/([^/]+)$/.exec(arn);
  if (!m)
    throw badRequest(
      'resource_arn: must be arn:aws:apigateway:{region}::/usageplans/{id} or …::/apikeys/{id}',
    );
  const id = m[2]!;
  if (m[1] === 'usageplans') return (await visiblePlan(deps, actor, id)).id;
  return (await loadKeyRow(deps, actor, id)).id;
}

/** The ARN label of the request, as sent (percent-encoded by every AWS client), decoded once. */
function arnOf(url: string): string {
  const path = new URL(url).pathname;
  const at = path.indexOf('/tags/');
  if (at < 0) throw notFoundAws('no resource ARN in the path');
  try {
    return decodeURIComponent(path.slice(at + '/tags/'.length));
  } catch {
    throw badRequest('resource_arn: not a valid percent-encoded ARN');
  }
}

export function registerTags(app: Hono<ApigwEnv>, deps: AttachDeps): void {
  app.get('/tags/*', async (c) => {
    const id = await resourceOf(deps, c.var.actor, arnOf(c.req.url));
    return c.json({ tags: await tagsOf(deps.store.db, id) }, 200);
  });

  app.put('/tags/*', async (c) => {
    const id = await resourceOf(deps, c.var.actor, arnOf(c.req.url));
    const tags = tagsIn(jsonOf<{ tags?: unknown }>(c.var.body).tags);
    if (!tags) throw badRequest('tags: is required');
    await putTags(deps.store.db, id, tags);
    return c.body(null, 204);
  });

  app.delete('/tags/*', async (c) => {
    const id = await resourceOf(deps, c.var.actor, arnOf(c.req.url));
    const keys = c.req.queries('tagKeys') ?? [];
    if (keys.length === 0) throw badRequest('tagKeys: name at least one tag key');
    await dropTags(deps.store.db, id, keys);
    return c.body(null, 204);
  });
}
