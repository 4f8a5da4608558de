/**
 * Static assets under /assets/portal: the stylesheet and scripts (embedded, so a build has
 * them) and Swagger UI's files read from the installed swagger-ui-dist package — served
 * from this host, never a CDN.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Hono } from 'hono';
import type { PortalEnv } from '../http/env.js';
import { CSS } from './css.js';
import { DOCS_JS, EDITOR_JS, PORTAL_JS } from './scripts.js';

const EMBEDDED: Record<string, [string, string]> = {
  'portal.css': ['text/css; charset=utf-8', CSS],
  'portal.js': ['text/javascript; charset=utf-8', PORTAL_JS],
  'editor.js': ['text/javascript; charset=utf-8', EDITOR_JS],
  'docs.js': ['text/javascript; charset=utf-8', DOCS_JS],
};

const SWAGGER: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
};

let swaggerDir: string | null = null;
const cache = new Map<string, Buffer>();

export function assetRoutes(app: Hono<PortalEnv>): void {
  app.get('/assets/portal/:name', (c) => {
    const a = EMBEDDED[c.req.param('name')];
    if (!a) return c.notFound();
    return c.body(a[1], 200, { 'content-type': a[0], 'cache-control': 'public, max-age=3600' });
  });
  app.get('/assets/portal/swagger/:name', async (c) => {
    const name = c.req.param('name');
    const type = SWAGGER[name];
    if (!type) return c.notFound();
    let body = cache.get(name);
    if (!body) {
      swaggerDir ??= dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
      body = await readFile(join(swaggerDir, name));
      cache.set(name, body);
    }
    return c.body(new Uint8Array(body), 200, {
      'content-type': type,
      'cache-control': 'public, max-age=86400',
    });
  });
}
