/**
 * A buyer's first call, built from a real operation of the API: the method, the gateway
 * URL + path (path and required query parameters filled from the document's examples), and
 * a JSON body generated from the request schema — in curl, JavaScript (fetch) and Python
 * (requests). The operation chosen is the first keyed one in the document; a public one
 * (health checks) proves nothing about the key.
 */
import type { ApiView } from '../catalog/index.js';
import { type BuyerOperation, buyerOperations, gatewayBase } from './reference.js';

export interface FirstCall {
  method: string;
  url: string;
  /** JSON text of the body, or null when the operation takes none. */
  body: string | null;
  summary: string;
}

type Schema = Record<string, unknown>;

export function firstCall(apis: ApiView[], gatewayUrl: string): FirstCall | null {
  for (const api of apis) {
    const ops = buyerOperations(api).filter((o) => !o.public);
    const op = ops.find((o) => o.method !== 'head' && o.method !== 'options');
    if (op) return callOf(api, op, gatewayUrl);
  }
  // No document: the API's prefix on the gateway, which its routes (or catch-all) serve.
  const api = apis[0];
  if (!api) return null;
  const route = api.routes.find((r) => !r.public && (r.method === 'GET' || r.method === '*'));
  const path = route ? route.path.replace(/\{[^}+]+\+?\}/g, 'example') : '/';
  return { method: 'GET', url: gatewayBase(api, gatewayUrl) + path, body: null, summary: '' };
}

function callOf(api: ApiView, op: BuyerOperation, gatewayUrl: string): FirstCall {
  const doc = api.openapi ?? {};
  const params = [
    ...asArray((doc.paths as Record<string, Schema>)[op.path]?.parameters),
    ...asArray(op.operation.parameters),
  ].map((p) => resolve(doc, p));
  let path = op.path;
  const query = new URLSearchParams();
  for (const p of params) {
    const name = String(p.name ?? '');
    const value = p.example ?? resolve(doc, (p.schema ?? {}) as Schema).example ?? sample(doc, p.schema, 0);
    if (p.in === 'path') path = path.replace(`{${name}}`, encodeURIComponent(String(value)));
    else if (p.in === 'query' && p.required === true) query.set(name, String(value));
  }
  path = path.replace(/\{[^}]+\}/g, 'example');
  const qs = query.toString();
  const body = jsonBody(doc, op.operation.requestBody);
  const summary = typeof op.operation.summary === 'string' ? op.operation.summary : '';
  return {
    method: op.method.toUpperCase(),
    url: `${gatewayBase(api, gatewayUrl)}${path}${qs ? `?${qs}` : ''}`,
    body: body === undefined ? null : JSON.stringify(body),
    summary,
  };
}

function jsonBody(doc: Schema, requestBody: unknown): unknown {
  const rb = resolve(doc, requestBody);
  const media = (rb.content as Record<string, Schema> | undefined)?.['application/json'];
  if (!media) return undefined;
  if (media.example !== undefined) return media.example;
  const examples = media.examples as Record<string, Schema> | undefined;
  const first = examples && Object.values(examples)[0];
  if (first && resolve(doc, first).value !== undefined) return resolve(doc, first).value;
  return sample(doc, media.schema, 0);
}

/** A value the schema accepts: its example, default or first enum value, else a plain one of its type. */
export function sample(doc: Schema, schema: unknown, depth: number): unknown {
  const s = resolve(doc, schema);
  if (depth > 6) return null;
  if (s.example !== undefined) return s.example;
  if (Array.isArray(s.examples) && s.examples.length) return s.examples[0];
  if (s.default !== undefined) return s.default;
  if (Array.isArray(s.enum) && s.enum.length) return s.enum[0];
  if (s.const !== undefined) return s.const;
  for (const k of ['oneOf', 'anyOf', 'allOf'] as const)
    if (Array.isArray(s[k]) && s[k].length) return sample(doc, s[k][0], depth + 1);
  const type = Array.isArray(s.type) ? s.type.find((t) => t !== 'null') : s.type;
  switch (type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      const props = (s.properties ?? {}) as Record<string, unknown>;
      for (const name of asArray<string>(s.required)) out[name] = sample(doc, props[name], depth + 1);
      return out;
    }
    case 'array':
      return Array.from({ length: Math.max(1, Number(s.minItems ?? 1)) }, () =>
        sample(doc, s.items, depth + 1),
      );
    case 'integer':
    case 'number':
      return typeof s.minimum === 'number' ? s.minimum : 1;
    case 'boolean':
      return true;
    case 'string':
      return s.format === 'uri' ? 'https://example.com' : 'example';
    default:
      return s.properties ? sample(doc, { ...s, type: 'object' }, depth) : null;
  }
}

function resolve(doc: Schema, v: unknown): Schema {
  let cur = v;
  for (let i = 0; i < 10 && cur && typeof cur === 'object' && '$ref' in cur; i++) {
    const ref = String((cur as Schema).$ref);
    if (!ref.startsWith('#/')) return {};
    cur = ref
      .slice(2)
      .split('/')
      .reduce<unknown>((o, k) => (o as Schema | undefined)?.[k.replace(/~1/g, '/').replace(/~0/g, '~')], doc);
  }
  return cur && typeof cur === 'object' ? (cur as Schema) : {};
}

function asArray<T = Schema>(v: unknown): T[] {
  return Array.isArray(v) ? (v as T[]) : [];
}

const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** The call in curl (shell), with the key either as a literal or as `$TOLLGATE_KEY`. */
export function curlSnippet(call: FirstCall, key?: string): string {
  const parts = ['curl -i'];
  if (call.method !== 'GET') parts.push(`-X ${call.method}`);
  parts.push(key ? `-H ${sq(`x-api-key: ${key}`)}` : `-H "x-api-key: $TOLLGATE_KEY"`);
  if (call.body !== null) parts.push(`-H 'content-type: application/json'`, `-d ${sq(call.body)}`);
  parts.push(sq(call.url));
  return parts.join(' ');
}

export function fetchSnippet(call: FirstCall, key?: string): string {
  const k = key ? JSON.stringify(key) : 'process.env.TOLLGATE_KEY';
  const headers =
    call.body !== null
      ? `{ 'x-api-key': ${k}, 'content-type': 'application/json' }`
      : `{ 'x-api-key': ${k} }`;
  const lines = [
    `const res = await fetch(${JSON.stringify(call.url)}, {`,
    `  method: ${JSON.stringify(call.method)},`,
    `  headers: ${headers},`,
  ];
  if (call.body !== null) lines.push(`  body: JSON.stringify(${call.body}),`);
  lines.push('});', 'console.log(res.status, await res.text());');
  return lines.join('\n');
}

export function pythonSnippet(call: FirstCall, key?: string): string {
  const k = key ? JSON.stringify(key) : 'os.environ["TOLLGATE_KEY"]';
  const args = [JSON.stringify(call.url), `headers={"x-api-key": ${k}}`];
  if (call.body !== null) args.push(`json=json.loads(${JSON.stringify(call.body)})`);
  return [
    `import ${call.body !== null ? 'json, ' : ''}os, requests`,
    '',
    `r = requests.request(${JSON.stringify(call.method)}, ${args.join(', ')})`,
    'print(r.status_code, r.text)',
  ].join('\n');
}
