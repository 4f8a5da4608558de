/**
 * API keys: CreateApiKey (201; an absent or empty `value` is generated), ImportApiKeys (CSV,
 * 201 `{ids, warnings}`), GetApiKey, GetApiKeys (`item`, `position`; `name` is a prefix
 * filter, `customerId` exact), UpdateApiKey (/name, /enabled, /customerId, /description),
 * DeleteApiKey (202). Descriptions and tags are kept (resources.ts, tags.ts).
 * `includeValue(s)` returns values only where the installation keeps them sealed
 * (key-values.ts); otherwise Tollgate holds just a SHA-256 and GetApiKeys says so in a warning.
 */
import type { Hono } from 'hono';
import { sql } from 'kysely';
import type { Actor } from '../catalog/index.js';
import { hashKey, importProblem } from '../keys/index.js';
import { isTollgateError } from '../shared/index.js';
import {
  type AttachDeps,
  attachKey,
  deleteKey,
  holdingSubscriptionFor,
  loadKeyRow,
  nullIfNotFound,
  PROVIDER_TAG,
  resolveProvider,
} from './attach.js';
import type { ApigwEnv } from './auth.js';
import { type KeyFileRow, parseKeyFile } from './csv.js';
import { AwsError, badRequest } from './errors.js';
import { apiKeyWire, type KeyRow, keysQuery, paging } from './model.js';
import { keyPatch, patchOps } from './patch.js';
import { metaOf, setMeta, visiblePlan } from './resources.js';
import { putTags, tagsIn, tagsOf } from './tags.js';
import { jsonOf } from './util.js';

interface CreateBody {
  name?: string;
  description?: string;
  enabled?: boolean;
  value?: string | null;
  customerId?: string;
  stageKeys?: unknown[];
  tags?: Record<string, string>;
  generateDistinctId?: boolean;
}

export function registerKeys(app: Hono<ApigwEnv>, deps: AttachDeps): void {
  const { catalog, store } = deps;

  async function createKey(actor: Actor, body: CreateBody) {
    if (body.stageKeys?.length)
      throw badRequest('stageKeys: not supported; add the key to a usage plan instead');
    if (body.name !== undefined && typeof body.name !== 'string') throw badRequest('name: must be a string');
    if (body.enabled !== undefined && typeof body.enabled !== 'boolean')
      throw badRequest('enabled: must be a boolean');
    if (body.description !== undefined && typeof body.description !== 'string')
      throw badRequest('description: must be a string');
    // An empty value is what Terraform sends for "no value": API Gateway generates one.
    const value = body.value === '' || body.value === null ? undefined : body.value;
    if (value !== undefined) {
      const problem = typeof value === 'string' ? importProblem(value) : 'must be a string';
      if (problem) throw badRequest(`value: ${problem}`);
    }
    const tags = tagsIn(body.tags);
    const providerId = await resolveProvider(deps, actor, { tag: tags?.[PROVIDER_TAG] });
    const name = body.name ?? '';
    const subscriptionId = await holdingSubscriptionFor(
      deps,
      actor,
      providerId,
      body.customerId || undefined,
      name,
    );
    // API Gateway creates keys disabled unless `enabled: true` is sent.
    const input = { subscriptionId, name, enabled: body.enabled ?? false };
    const made =
      value !== undefined
        ? await catalog.keys.import(actor, { ...input, value })
        : await catalog.keys.create(actor, input);
    if (body.description) await setMeta(store.db, made.id, { description: body.description });
    if (tags) await putTags(store.db, made.id, tags);
    const plain = made.value ?? value;
    if (deps.keyValues && plain) await deps.keyValues.put(made.id, plain);
    return { id: made.id, value: plain };
  }

  /** The ApiKey answer; `value` when given, or (includeValue) when the installation keeps it. */
  async function keyOut(row: KeyRow, opts: { value?: string | undefined; include?: boolean } = {}) {
    let value = opts.value;
    if (value === undefined && opts.include && deps.keyValues)
      value = (await deps.keyValues.get([row.id])).get(row.id);
    const meta = await metaOf(store.db, row.id);
    return apiKeyWire(row, value, { description: meta.description, tags: await tagsOf(store.db, row.id) });
  }

  app.post('/apikeys', async (c) => {
    const actor = c.var.actor;
    if (c.req.query('mode') === 'import')
      return c.json(await importKeys(c.var.body, c.req.query(), actor), 201);
    if (c.req.query('mode') !== undefined) throw badRequest('mode: must be import (or absent)');
    const made = await createKey(actor, jsonOf<CreateBody>(c.var.body));
    return c.json(await keyOut(await loadKeyRow(deps, actor, made.id), { value: made.value }), 201);
  });

  async function importKeys(text: string, q: Record<string, string>, actor: Actor) {
    if (q.format !== 'csv') throw badRequest('format: must be csv');
    const failOnWarnings = q.failonwarnings === 'true';
    const rows = parseKeyFile(text);
    const warnings: string[] = [];
    const valid = [];
    for (const r of rows) {
      const problem = r.key === '' ? 'Key is required' : importProblem(r.key);
      if (problem) warnings.push(`line ${r.line}: Key ${problem}`);
      else if (r.name.length > 200)
        warnings.push(`line ${r.line}: Name is longer than 200 characters (Tollgate's limit)`);
      else if (r.enabled === null) warnings.push(`line ${r.line}: Enabled must be true or false`);
      else {
        let missing: string | undefined;
        for (const id of r.usagePlanIds) {
          const ok = await visiblePlan(deps, actor, id).catch(nullIfNotFound);
          if (!ok) {
            missing = id;
            break;
          }
        }
        if (missing) {
          warnings.push(`line ${r.line}: usage plan ${missing} does not exist`);
          continue;
        }
        valid.push(r);
      }
    }
    if (failOnWarnings && warnings.length) throw badRequest(`nothing imported: ${warnings.join('; ')}`);
    const ids: string[] = [];
    for (const r of valid) {
      try {
        ids.push(await importRow(r, actor, warnings));
      } catch (e) {
        // Rows are written one by one: a refusal here is reported, the other rows still count.
        if (!(e instanceof AwsError) && !isTollgateError(e)) throw e;
        warnings.push(`line ${r.line}: ${(e as Error).message}`);
      }
    }
    return { ids, warnings };
  }

  async function importRow(r: KeyFileRow, actor: Actor, warnings: string[]): Promise<string> {
    // Re-importing a value overwrites the key's name and state (API Gateway's rule).
    const existing = await keysQuery(store, actor)
      .where('api_keys.hash', '=', hashKey(r.key))
      .executeTakeFirst();
    if (existing) {
      await catalog.keys.update(actor, existing.id, { name: r.name, enabled: r.enabled! });
      await setMeta(store.db, existing.id, { description: r.description || null });
      return existing.id;
    }
    const planId = r.usagePlanIds[0];
    const planProviderId = planId ? (await catalog.plans.get(actor, planId)).providerId : undefined;
    const made = await createKey(actor, {
      name: r.name,
      value: r.key,
      enabled: r.enabled!,
      description: r.description,
      ...(planProviderId ? { tags: { [PROVIDER_TAG]: planProviderId } } : {}),
    });
    // Several UsagePlanIds: the key goes into each; a plan refused by CreateUsagePlanKey's
    // rule (it shares an API with an earlier one) is a warning, the key stays imported.
    for (const [i, id] of r.usagePlanIds.entries()) {
      try {
        await attachKey(deps, actor, id, made.id);
      } catch (e) {
        if (i === 0 || !(e instanceof AwsError)) throw e;
        warnings.push(`line ${r.line}: ${e.message}`);
      }
    }
    return made.id;
  }

  app.get('/apikeys', async (c) => {
    const { limit, position } = paging(c.req.query());
    const name = c.req.query('name');
    const customerId = c.req.query('customerId');
    let q = keysQuery(store, c.var.actor)
      .orderBy('api_keys.id')
      .limit(limit + 1);
    if (position) q = q.where('api_keys.id', '>', position);
    if (customerId) q = q.where('consumers.external_customer_id', '=', customerId);
    if (name) q = q.where(sql<string>`substr(api_keys.name, 1, ${name.length})`, '=', name);
    const rows = await q.execute();
    const more = rows.length > limit;
    const kept = more ? rows.slice(0, limit) : rows;
    const include = c.req.query('includeValues') === 'true';
    const values = include && deps.keyValues ? await deps.keyValues.get(kept.map((k) => k.id)) : null;
    const item = [];
    for (const k of kept) item.push(await keyOut(k, { value: values?.get(k.id) }));
    return c.json(
      {
        ...(more ? { position: kept[kept.length - 1]!.id } : {}),
        item,
        ...(include && !deps.keyValues
          ? {
              warnings: [
                'includeValues: this installation keeps only a hash of each key (see apigwKeyValues); values are not returned',
              ],
            }
          : {}),
      },
      200,
    );
  });

  app.get('/apikeys/:id', async (c) => {
    const row = await loadKeyRow(deps, c.var.actor, c.req.param('id'));
    return c.json(await keyOut(row, { include: c.req.query('includeValue') === 'true' }), 200);
  });

  app.patch('/apikeys/:id', async (c) => {
    const actor = c.var.actor;
    const key = await loadKeyRow(deps, actor, c.req.param('id'));
    const d = keyPatch(patchOps(jsonOf(c.var.body)));
    if (d.customerId !== undefined) {
      // The customer is the key's consumer: its externalCustomerId changes for all its keys.
      await catalog.consumers.update(actor, key.consumer_id, { externalCustomerId: d.customerId });
    }
    const edit = {
      ...(d.name !== undefined ? { name: d.name } : {}),
      ...(d.enabled !== undefined ? { enabled: d.enabled } : {}),
    };
    if (Object.keys(edit).length) await catalog.keys.update(actor, key.id, edit);
    if (d.description !== undefined) await setMeta(store.db, key.id, { description: d.description });
    return c.json(await keyOut(await loadKeyRow(deps, actor, key.id)), 200);
  });

  app.delete('/apikeys/:id', async (c) => {
    await deleteKey(deps, c.var.actor, c.req.param('id'));
    return c.body(null, 202);
  });
}
