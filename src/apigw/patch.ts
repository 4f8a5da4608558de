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
  throttle: { rateLimit: number; burstLimit: number } | null;
  quota: { limit: number; period: string; offset: number } | null;
  apiStages: WireApiStage[];
}

export function applyPlanPatch(plan: PlanView, stages: WireApiStage[], ops: PatchOp[]): PlanDraft {
  const d: PlanDraft = {
    name: plan.name,
    description: plan.description,
    throttle: plan.throttle ? { ...plan.throttle } : null,
    quota: plan.quota
      ? { limit: plan.quota.limit, period: plan.quota.period, offset: plan.quota.offset }
      : null,
    apiStages: stages.map((s) => ({ ...s, throttle: { ...(s.throttle ?? {}) } })),
  };
  ops.forEach((o, i) => {
    const field = `patchOperations[${i}]`;
    const path = o.path!;
    const parts = path.split('/').slice(1).map(unpointer);
    const bad = () => badRequest(`${field}: ${o.op} ${path} is not supported for a usage plan`);
    if (o.op === 'replace' && (path === '/name' || path === '/description')) {
      if (typeof o.value !== 'string') throw badRequest(`${field}.value: is required`);
      d[parts[0] as 'name' | 'description'] = o.value;
    } else if (parts[0] === 'throttle') {
      if (o.op === 'remove' && parts.length === 1) d.throttle = null;
      else if (o.op === 'replace' && (parts[1] === 'rateLimit' || parts[1] === 'burstLimit')) {
        d.throttle ??= { rateLimit: 1, burstLimit: 1 };
        d.throttle[parts[1]] = num(o.value, `${field}.value`, parts[1] === 'burstLimit');
      } else throw bad();
    } else if (parts[0] === 'quota') {
      if (o.op === 'remove' && parts.length === 1) d.quota = null;
      else if (o.op === 'replace' && (parts[1] === 'limit' || parts[1] === 'offset')) {
        d.quota ??= { limit: 1, period: 'MONTH', offset: 0 };
        d.quota[parts[1]] = num(o.value, `${field}.value`, true);
      } else if (o.op === 'replace' && parts[1] === 'period') {
        d.quota ??= { limit: 1, period: 'MONTH', offset: 0 };
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
    } else if (parts[0] === 'apiStages' && parts[2] === 'throttle' && parts.length >= 3) {
      // /apiStages/{apiId:stage}/throttle[/{resourcePath}/{method}[/rateLimit|burstLimit]]
      const apiId = stageOf(parts[1]!, `${field}.path`);
      const stage = d.apiStages.find((s) => s.apiId === apiId);
      if (!stage) throw badRequest(`${field}.path: ${apiId}:${STAGE} is not in the plan`);
      stage.throttle ??= {};
      const t = stage.throttle;
      if (parts.length === 3 && o.op === 'remove') stage.throttle = {};
      else if (parts.length === 5 && o.op === 'remove') delete t[`${parts[3]}/${parts[4]}`];
      else if (
        parts.length === 6 &&
        o.op === 'replace' &&
        (parts[5] === 'rateLimit' || parts[5] === 'burstLimit')
      ) {
        const key = `${parts[3]}/${parts[4]}`;
        t[key] ??= { rateLimit: 1, burstLimit: 1 };
        const cur = t[key];
        cur[parts[5]] = num(o.value, `${field}.value`, parts[5] === 'burstLimit');
      } else throw bad();
    } else if (path === '/productCode') {
      throw badRequest(
        `${field}: /productCode is not supported; list the plan in a Tollgate marketplace product`,
      );
    } else throw bad();
  });
  return d;
}

export interface KeyDraft {
  name?: string;
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
    else if (o.path === '/description') {
      // Not stored by Tollgate (see docs/apigw.md); accepted so that scripts keep working.
    } else if (o.path === '/enabled') {
      if (o.value !== 'true' && o.value !== 'false')
        throw badRequest(`${field}.value: must be "true" or "false"`);
      d.enabled = o.value === 'true';
    } else if (o.path === '/customerId') {
      d.customerId = o.op === 'remove' || !o.value ? null : o.value;
    } else throw badRequest(`${field}: ${o.op} ${o.path} is not supported for an API key`);
  });
  return d;
}
