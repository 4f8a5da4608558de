/**
 * API keys: CreateApiKey (201; the value is in this answer only), ImportApiKeys (CSV, 201
 * `{ids, warnings}`), GetApiKey, GetApiKeys (`item`, `position`; `name` is a prefix filter,
 * `customerId` exact), UpdateApiKey (/name, /enabled, /customerId, /description), DeleteApiKey
 * (202). `includeValue(s)` cannot be honoured: Tollgate keeps only a SHA-256 of each value.
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
import { apiKeyWire, keysQuery, paging } from './model.js';
import { keyPatch, patchOps } from './patch.js';
import { visiblePlan } from './plans.js';
import { jsonOf } from './util.js';

interface CreateBody {
  name?: string;
  description?: string;
  enabled?: boolean;
  value?: string;
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
    if (body.value !== undefined) {
      const problem = importProblem(body.value);
      if (problem) throw badRequest(`value: ${problem}`);
    }
    const providerId = await resolveProvider(deps, actor, { tag: body.tags?.[PROVIDER_TAG] });
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
      body.value !== undefined
        ? await catalog.keys.import(actor, { ...input, value: body.value })
        : await catalog.keys.create(actor, input);
    return { id: made.id, value: made.value };
  }

  app.post('/apikeys', async (c) => {
    const actor = c.var.actor;
    if (c.req.query('mode') === 'import')
      return c.json(await importKeys(c.var.body, c.req.query(), actor), 201);
    if (c.req.query('mode') !== undefined) throw badRequest('mode: must be import (or absent)');
    const made = await createKey(actor, jsonOf<CreateBody>(c.var.body));
    return c.json(apiKeyWire(await loadKeyRow(deps, actor, made.id), made.value), 201);
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
        if (r.usagePlanIds.length > 1)
          warnings.push(
            `line ${r.line}: a Tollgate key is in one usage plan; only ${r.usagePlanIds[0]} is used`,
          );
        if (r.usagePlanIds[0]) {
          const ok = await visiblePlan(deps, actor, r.usagePlanIds[0]).catch(nullIfNotFound);
          if (!ok) {
            warnings.push(`line ${r.line}: usage plan ${r.usagePlanIds[0]} does not exist`);
            continue;
          }
        }
        valid.push(r);
      }
    }
    if (failOnWarnings && warnings.length) throw badRequest(`nothing imported: ${warnings.join('; ')}`);
    const ids: string[] = [];
    for (const r of valid) {
      try {
        ids.push(await importRow(r, actor));
      } catch (e) {
        // Rows are written one by one: a refusal here is reported, the other rows still count.
        if (!(e instanceof AwsError) && !isTollgateError(e)) throw e;
        warnings.push(`line ${r.line}: ${(e as Error).message}`);
      }
    }
    return { ids, warnings };
  }

  async function importRow(r: KeyFileRow, actor: Actor): Promise<string> {
    // Re-importing a value overwrites the key's name and state (API Gateway's rule).
    const existing = await keysQuery(store, actor)
      .where('api_keys.hash', '=', hashKey(r.key))
      .executeTakeFirst();
    if (existing) {
      await catalog.keys.update(actor, existing.id, { name: r.name, enabled: r.enabled! });
      return existing.id;
    }
    const planId = r.usagePlanIds[0];
    const planProviderId = planId ? (await catalog.plans.get(actor, planId)).providerId : undefined;
    const made = await createKey(actor, {
      name: r.name,
      value: r.key,
      enabled: r.enabled!,
      ...(planProviderId ? { tags: { [PROVIDER_TAG]: planProviderId } } : {}),
    });
    if (planId) await attachKey(deps, actor, planId, made.id);
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
    return c.json(
      {
        ...(more ? { position: kept[kept.length - 1]!.id } : {}),
        item: kept.map((k) => apiKeyWire(k)),
        ...(c.req.query('includeValues') === 'true'
          ? {
              warnings: ['includeValues: Tollgate stores only a hash of each key; values are never returned'],
            }
          : {}),
      },
      200,
    );
  });

  app.get('/apikeys/:id', async (c) =>
    c.json(apiKeyWire(await loadKeyRow(deps, c.var.actor, c.req.param('id'))), 200),
  );

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
    return c.json(apiKeyWire(await loadKeyRow(deps, actor, key.id)), 200);
  });

  app.delete('/apikeys/:id', async (c) => {
    await deleteKey(deps, c.var.actor, c.req.param('id'));
    return c.body(null, 202);
  });
}
