/**
 * Routes from an OpenAPI 3.x document (JSON or YAML, parsed with `yaml`, which reads both):
 * one route per path + method, `{param}` templates kept as they are (the gateway's route
 * syntax is the same), the document's `servers[0].url` suggested as the upstream. Problems
 * come back as messages naming where in the document they are, never as exceptions; paths
 * the gateway cannot route (`/files/{name}.json`) are listed in `skipped` with the reason.
 */
import { parse as parseYaml } from 'yaml';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch'] as const;
const MAX_ROUTES = 500;

export interface ImportedRoute {
  method: string;
  path: string;
  summary: string;
}

export type ImportResult =
  | {
      ok: true;
      document: Record<string, unknown>;
      title: string;
      server: string | null;
      routes: ImportedRoute[];
      skipped: string[];
    }
  | { ok: false; message: string };

const PATH = /^\/$|^(\/([A-Za-z0-9._~!$&'()*,;=:@%-]+|\{[A-Za-z_][A-Za-z0-9_]{0,63}\}))+$/;

/** Why the gateway cannot route an OpenAPI path, in words a provider can act on. */
function whyNotRouted(path: string): string {
  const part = path
    .split('/')
    .find((seg) => /\{[^}]*\}/.test(seg) && !/^\{[A-Za-z_][A-Za-z0-9_]{0,63}\}$/.test(seg));
  if (part)
    return `the parameter in "${part}" is only part of a segment; the gateway matches whole segments (a route such as ${path.replace(/\{([^}]*)\}[^/]*/g, '{$1}')} carries these calls)`;
  if (!path.startsWith('/')) return 'it does not start with "/"';
  return 'it has characters the gateway does not route (spaces, quotes, "#", "?" or "..")';
}

export function importOpenApi(text: string): ImportResult {
  if (!text.trim()) return { ok: false, message: 'the document is empty' };
  let doc: unknown;
  try {
    doc = parseYaml(text, { maxAliasCount: 100 });
  } catch (err) {
    return { ok: false, message: `not valid JSON or YAML: ${(err as Error).message.split('\n')[0]}` };
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc))
    return { ok: false, message: 'the document must be an object' };
  const d = doc as Record<string, unknown>;
  if (typeof d.openapi !== 'string' || !/^3\.\d+(\.\d+)?/.test(d.openapi)) {
    return {
      ok: false,
      message: 'openapi: must be a 3.x version such as "3.1.0" (Swagger 2.0 is not supported)',
    };
  }
  const paths = d.paths;
  if (!paths || typeof paths !== 'object' || Array.isArray(paths))
    return { ok: false, message: 'paths: must be an object' };
  const routes: ImportedRoute[] = [];
  const skipped: string[] = [];
  for (const [path, item] of Object.entries(paths as Record<string, unknown>)) {
    if (!PATH.test(path)) {
      skipped.push(`${path}: ${whyNotRouted(path)}`);
      continue;
    }
    if (!item || typeof item !== 'object') continue;
    for (const m of METHODS) {
      const op = (item as Record<string, unknown>)[m];
      if (!op || typeof op !== 'object') continue;
      const o = op as Record<string, unknown>;
      const summary =
        typeof o.summary === 'string' ? o.summary : typeof o.operationId === 'string' ? o.operationId : '';
      routes.push({ method: m.toUpperCase(), path, summary: summary.slice(0, 200) });
    }
  }
  if (!routes.length) return { ok: false, message: 'paths: the document has no operations' };
  if (routes.length > MAX_ROUTES)
    return { ok: false, message: `paths: ${routes.length} operations, at most ${MAX_ROUTES}` };
  const info = (d.info ?? {}) as Record<string, unknown>;
  const servers = Array.isArray(d.servers) ? (d.servers as Array<Record<string, unknown>>) : [];
  const server =
    typeof servers[0]?.url === 'string' && /^https?:\/\//.test(servers[0].url) ? servers[0].url : null;
  return {
    ok: true,
    document: JSON.parse(JSON.stringify(d)) as Record<string, unknown>,
    title: typeof info.title === 'string' ? info.title.slice(0, 200) : '',
    server,
    routes,
    skipped,
  };
}
