/**
 * The wire rules of Stripe's REST API (https://docs.stripe.com/api), for the local Stripe
 * server: bearer secret keys, `application/x-www-form-urlencoded` bodies with bracketed keys
 * (`metadata[k]=v`, `expand[0]=x`), `Idempotency-Key` on POST (same key + same parameters
 * replays the first answer with `Idempotent-Replayed: true`; same key + other parameters is a
 * 400 `idempotency_error`), errors as `{"error":{"type","code","message","param"}}` with
 * Stripe's status codes (400 invalid request, 401 bad key, 402 card error, 404 missing
 * resource), unknown parameters refused, and cursor pagination of lists
 * (`limit` 1–100 default 10, `starting_after`, `ending_before`, `has_more`).
 */
import { createHash } from 'node:crypto';

export type Params = Record<string, unknown>;

export class StripeFail extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
    readonly code?: string,
    readonly param?: string,
  ) {
    super(message);
  }
  body() {
    return {
      error: {
        type: this.type,
        message: this.message,
        ...(this.code ? { code: this.code } : {}),
        ...(this.param ? { param: this.param } : {}),
      },
    };
  }
}

export const missing = (what: string, id: string) =>
  new StripeFail(404, 'invalid_request_error', `No such ${what}: '${id}'`, 'resource_missing', 'id');
export const badParam = (param: string, message: string, code = 'parameter_invalid_string') =>
  new StripeFail(400, 'invalid_request_error', message, code, param);

/** Decodes Stripe's form encoding into nested objects; all-numeric keys become arrays. */
export function decodeForm(text: string): Params {
  const root: Params = {};
  for (const pair of text.split('&')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const rawKey = decodeURIComponent((eq < 0 ? pair : pair.slice(0, eq)).replace(/\+/g, ' '));
    const value = eq < 0 ? '' : decodeURIComponent(pair.slice(eq + 1).replace(/\+/g, ' '));
    const path = rawKey.replace(/\]/g, '').split('[');
    let node = root;
    for (const [i, seg] of path.entries()) {
      if (seg === '__proto__' || seg === 'constructor' || seg === 'prototype')
        throw badParam(rawKey, 'bad key');
      if (i === path.length - 1) node[seg] = value;
      else {
        if (typeof node[seg] !== 'object' || node[seg] === null) node[seg] = {};
        node = node[seg] as Params;
      }
    }
  }
  return arrays(root) as Params;
}

function arrays(v: unknown): unknown {
  if (typeof v !== 'object' || v === null) return v;
  const o = v as Params;
  const keys = Object.keys(o);
  for (const k of keys) o[k] = arrays(o[k]);
  if (keys.length > 0 && keys.every((k) => /^\d+$/.test(k)))
    return keys.sort((a, b) => Number(a) - Number(b)).map((k) => o[k]);
  return o;
}

/** Refuses parameters the endpoint does not take (Stripe: "Received unknown parameter"). */
export function allow(params: Params, names: string[]): void {
  for (const k of Object.keys(params))
    if (!names.includes(k)) throw badParam(k, `Received unknown parameter: ${k}`, 'parameter_unknown');
}

export function required(params: Params, name: string): string {
  const v = params[name];
  if (typeof v !== 'string' || v === '')
    throw badParam(name, `Missing required param: ${name}.`, 'parameter_missing');
  return v;
}

export function int(params: Params, name: string): number | undefined {
  const v = params[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !/^-?\d+$/.test(v)) throw badParam(name, `Invalid integer: ${String(v)}`);
  return Number(v);
}

export function bool(params: Params, name: string): boolean | undefined {
  const v = params[name];
  if (v === undefined) return undefined;
  if (v !== 'true' && v !== 'false') throw badParam(name, `Invalid boolean: ${String(v)}`);
  return v === 'true';
}

export function metadata(params: Params): Record<string, string> {
  const m = params.metadata;
  if (m === undefined || m === '') return {};
  if (typeof m !== 'object' || Array.isArray(m)) throw badParam('metadata', 'Invalid hash');
  return m as Record<string, string>;
}

export function expands(params: Params): string[] {
  const e = params.expand;
  if (e === undefined) return [];
  if (!Array.isArray(e)) throw badParam('expand', 'Invalid array');
  return e as string[];
}

/** One page of a Stripe list, in creation order newest first as Stripe lists. */
export function page<T extends { id: string }>(all: T[], params: Params, url: string) {
  const limit = int(params, 'limit') ?? 10;
  if (limit < 1 || limit > 100) throw badParam('limit', 'Invalid limit: must be between 1 and 100');
  let items = all;
  const after = params.starting_after as string | undefined;
  const before = params.ending_before as string | undefined;
  if (after) {
    const i = items.findIndex((x) => x.id === after);
    if (i < 0) throw missing('object', after);
    items = items.slice(i + 1);
  } else if (before) {
    const i = items.findIndex((x) => x.id === before);
    if (i < 0) throw missing('object', before);
    items = items.slice(Math.max(0, i - limit), i);
    return { object: 'list', data: items, has_more: i - limit > 0, url };
  }
  return { object: 'list', data: items.slice(0, limit), has_more: items.length > limit, url };
}

/** Idempotency: the first answer for a key, replayed for the same parameters. */
export class IdempotencyStore {
  private readonly seen = new Map<string, { fingerprint: string; status: number; body: string }>();
  replays = 0;

  lookup(apiKey: string, key: string, method: string, path: string, body: string) {
    const fingerprint = createHash('sha256').update(`${method} ${path}\n${body}`).digest('hex');
    const prior = this.seen.get(`${apiKey}\u0000${key}`);
    if (!prior) return { fingerprint, replay: null };
    if (prior.fingerprint !== fingerprint)
      throw new StripeFail(
        400,
        'idempotency_error',
        `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
      );
    this.replays++;
    return { fingerprint, replay: prior };
  }

  remember(apiKey: string, key: string, fingerprint: string, status: number, body: string): void {
    // Stripe does not save answers to requests that failed validation or hit a 5xx/409
    if (status >= 500 || status === 409) return;
    this.seen.set(`${apiKey}\u0000${key}`, { fingerprint, status, body });
  }
}
