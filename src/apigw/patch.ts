/**
 * API Gateway PatchOperations (`{op, path, value, from}`; `value` is always a string, `path`
 * a JSON Pointer with `/` escaped as `~1`) → Tollgate plan and key updates. Only the paths
 * API Gateway documents for usage plans and keys that Tollgate can honour are accepted;
 * anything else is a BadRequestException naming the operation.
 */
import type { PlanView } from '../catalog/index.js';
import { badRequest } from './errors.js';
import { STAGE, type WireApiStage } from './model.js';

export interface PatchOp {
  op?: string;
  path?: string;
  value?: string;
  from?: string;
}

export function patchOps(body: unknown): PatchOp[] {
  const ops = (body as { patchOperations?: unknown } | null)?.patchOperations ?? [];
  if (!Array.isArray(ops)) throw badRequest('patchOperations: must be a list');
  ops.forEach((o, i) => {
    if (!o || typeof o !== 'object') throw badRequest(`patchOperations[${i}]: must be an object`);
    const { op, path } = o as PatchOp;
    if (!['add', 'remove', 'replace', 'move', 'copy', 'test'].includes(String(op)))
      throw badRequest(`patchOperations[${i}].op: must be add, remove, replace, move, copy or test`);
    if (typeof path !== 'string' || !path.startsWith('/'))
      throw badRequest(`patchOperations[${i}].path: must be a JSON pointer such as /name`);
  });
  return ops as PatchOp[];
}

const unpointer = (s: string) => s.replace(/~1/g, '/').replace(/~0/g, '~');

function num(v: string | undefined, field: string, int = false): number {
  const n = Number(v);
  if (v === undefined || v.trim() === '' || !Number.isFinite(n) || (int && !Number.isInteger(n)))
    throw badRequest(`${field}: value must be ${int ? 'an integer' : 'a number'} (as a string)`);
  return n;
}

function stageOf(ref: string, field: string): string {
  const [apiId, stage] = ref.split(':');
  if (!apiId || stage !== STAGE)
    throw badRequest(`${field}: must be "<apiId>:${STAGE}" (Tollgate APIs have one stage)`);
  return apiId;
}

/** Plan fields after the operations, in the wire shape (apiStages with method throttles). */
export interface PlanDraft {
  name: string;
  description: string;
  throttle: { rateLimit?: number; burstLimit?: number } | null;
  quota: { limit?: number; period?: string; offset?: number } | null;
  apiStages: WireApiStage[];
  /** undefined: not touched; null: removed. */
  productCode?: string | null;
}

const SETS = ['add', 'replace'];

/**
 * `/apiStages/{apiId}:{stage}/throttle` + what follows, as sent: `` (the whole map),
 * `/{resourcePath}/{METHOD}` either unescaped (`//pets/GET`) or escaped (`/~1pets~1GET`),
 * optionally followed by `/rateLimit` or `/burstLimit`.
 */
function methodThrottlePath(rest: string): { key: string; field?: 'rateLimit' | 'burstLimit' } | null {
  if (rest === '') return null;
  let body = rest.slice(1);
  let field: 'rateLimit' | 'burstLimit' | undefined;
  for (const f of ['rateLimit', 'burstLimit'] as const) {
    if (body.endsWith(`/${f}`)) {
      field = f;
      body = body.slice(0, -f.length - 1);
    }
  }
  let key = unpointer(body);
  if (!key.startsWith('/')) key = `/${key}`;
  return field ? { key, field } : { key };
}

function stagePatch(d: PlanDraft, o: PatchOp, field: string): void {
  const m = /^\/apiStages\/([^/]+)\/throttle(.*)$/.exec(o.path!);
  if (!m) throw badRequest(`${field}: ${o.op} ${o.path} is not supported for a usage plan`);
  const apiId = stageOf(unpointer(m[1]!), `${field}.path`);
  const stage = d.apiStages.find((s) => s.apiId === apiId);
  if (!stage) throw badRequest(`${field}.path: ${apiId}:${STAGE} is not in the plan`);
  stage.throttle ??= {};
  const t = stage.throttle;
  const target = methodThrottlePath(m[2]!);
  if (!target) {
    if (o.op === 'remove') stage.throttle = {};
    else if (SETS.includes(o.op!)) stage.throttle = throttleMap(o.value, `${field}.value`);
    else throw badRequest(`${field}: ${o.op} ${o.path} is not supported for a usage plan`);
  } else if (!target.field && o.op === 'remove') {
    delete t[target.key];
  } else if (target.field && SETS.includes(o.op!)) {
    t[target.key] ??= {};
    t[target.key]![target.field] = num(o.value, `${field}.value`, target.field === 'burstLimit');
  } else throw badRequest(`${field}: ${o.op} ${o.path} is not supported for a usage plan`);
}

function throttleMap(
  v: string | undefined,
  field: string,
): Record<string, { rateLimit?: number; burstLimit?: number }> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(v ?? '');
  } catch {
    throw badRequest(`${field}: must be a JSON map of "/path/METHOD" to {rateLimit, burstLimit}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw badRequest(`${field}: must be a JSON map of "/path/METHOD" to {rateLimit, burstLimit}`);
  return parsed as Record<string, { rateLimit?: number; burstLimit?: number }>;
}

/**
 * Applies the operations to the plan's fields. A patch sets only what it names: setting one
 * field of a throttle or quota the plan does not have leaves the others unset (absent in
 * answers, never completed with invented values); the gateway enforces a throttle once both
 * of its fields are set, a quota once its limit and period are (docs/apigw.md).
 */
export function applyPlanPatch(plan: PlanView, stages: WireApiStage[], ops: PatchOp[]): PlanDraft {
  const d: PlanDraft = {
    name: plan.name,
    description: plan.description,
    throttle: plan.throttle ? { ...plan.throttle } : null,
    quota: plan.quota
      ? {
          ...(plan.quota.limit !== undefined ? { limit: plan.quota.limit } : {}),
          ...(plan.quota.period !== undefined ? { period: plan.quota.period } : {}),
          offset: plan.quota.offset,
        }
      : null,
    apiStages: stages.map((s) => ({ ...s, throttle: { ...(s.throttle ?? {}) } })),
  };
  ops.forEach((o, i) => {
    const field = `patchOperations[${i}]`;
    const path = o.path!;
    const parts = path.split('/').slice(1).map(unpointer);
    const bad = () => badRequest(`${field}: ${o.op} ${path} is not supported for a usage plan`);
    const sets = SETS.includes(o.op!);
    if (sets && (path === '/name' || path === '/description')) {
      if (typeof o.value !== 'string') throw badRequest(`${field}.value: is required`);
      d[parts[0] as 'name' | 'description'] = o.value;
    } else if (path === '/productCode') {
      if (o.op === 'remove') d.productCode = null;
      else if (sets && typeof o.value === 'string' && o.value !== '') d.productCode = o.value;
      else if (sets) throw badRequest(`${field}.value: a product code or product id is required`);
      else throw bad();
    } else if (parts[0] === 'throttle') {
      if (o.op === 'remove' && parts.length === 1) d.throttle = null;
      else if (sets && parts.length === 2 && (parts[1] === 'rateLimit' || parts[1] === 'burstLimit')) {
        d.throttle ??= {};
        d.throttle[parts[1]] = num(o.value, `${field}.value`, parts[1] === 'burstLimit');
      } else throw bad();
    } else if (parts[0] === 'quota') {
      if (o.op === 'remove' && parts.length === 1) d.quota = null;
      else if (sets && parts.length === 2 && (parts[1] === 'limit' || parts[1] === 'offset')) {
        d.quota ??= {};
        d.quota[parts[1]] = num(o.value, `${field}.value`, true);
      } else if (sets && parts.length === 2 && parts[1] === 'period') {
        d.quota ??= {};
        d.quota.period = String(o.value);
      } else throw bad();
    } else if (parts[0] === 'apiStages' && parts.length === 1 && (o.op === 'add' || o.op === 'remove')) {
      const apiId = stageOf(String(o.value ?? ''), `${field}.value`);
      const has = d.apiStages.some((s) => s.apiId === apiId);
      if (o.op === 'add' && !has) d.apiStages.push({ apiId, stage: STAGE, throttle: {} });
      if (o.op === 'remove') {
        if (!has) throw badRequest(`${field}.value: ${apiId}:${STAGE} is not in the plan`);
        d.apiStages = d.apiStages.filter((s) => s.apiId !== apiId);
      }
    } else if (parts[0] === 'apiStages' && parts[2] === 'throttle') {
      stagePatch(d, o, field);
    } else throw bad();
  });
  return d;
}

export interface KeyDraft {
  name?: string;
  description?: string;
  enabled?: boolean;
  customerId?: string | null;
}

export function keyPatch(ops: PatchOp[]): KeyDraft {
  const d: KeyDraft = {};
  ops.forEach((o, i) => {
    const field = `patchOperations[${i}]`;
    if (o.op !== 'replace' && !(o.op === 'remove' && o.path === '/customerId'))
      throw badRequest(`${field}: ${o.op} ${o.path} is not supported for an API key`);
    if (o.path === '/name') d.name = String(o.value ?? '');
    else if (o.path === '/description') d.description = String(o.value ?? '');
    else if (o.path === '/enabled') {
      if (o.value !== 'true' && o.value !== 'false')
        throw badRequest(`${field}.value: must be "true" or "false"`);
      d.enabled = o.value === 'true';
    } else if (o.path === '/customerId') {
      d.customerId = o.op === 'remove' || !o.value ? null : o.value;
    } else throw badRequest(`${field}: ${o.op} ${o.path} is not supported for an API key`);
  });
  return d;
}
