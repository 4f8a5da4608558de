/** The portal's pure parts: OpenAPI import, Markdown safety, the plan editor's parsing and preview, chart helpers. */
import { describe, expect, it } from 'vitest';
import { billingPeriodStart } from '../../src/portal/buyer/usage.js';
import { lastMonths } from '../../src/portal/console/business.js';
import { parsePlanForm, planValues, previewSamples } from '../../src/portal/console/plan-form.js';
import { importOpenApi, renderMarkdown } from '../../src/portal/index.js';

describe('OpenAPI import', () => {
  it('makes one route per path and method, keeping {param} templates, from YAML or JSON', () => {
    const yaml = `openapi: 3.0.3
info: { title: Pets, version: '1' }
servers: [{ url: 'https://pets.example/v1' }]
paths:
  /pets:
    get: { summary: List, responses: { '200': { description: ok } } }
    post: { operationId: createPet, responses: { '201': { description: ok } } }
    parameters: []
  /pets/{petId}:
    delete: { responses: { '204': { description: gone } } }
  /weird path:
    get: { responses: { '200': { description: ok } } }
  /files/{name}.json:
    get: { responses: { '200': { description: ok } } }
`;
    const r = importOpenApi(yaml);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.title).toBe('Pets');
    expect(r.server).toBe('https://pets.example/v1');
    expect(r.routes).toEqual([
      { method: 'GET', path: '/pets', summary: 'List' },
      { method: 'POST', path: '/pets', summary: 'createPet' },
      { method: 'DELETE', path: '/pets/{petId}', summary: '' },
    ]);
    expect(r.skipped).toEqual([
      '/weird path: it has characters the gateway does not route (spaces, quotes, "#", "?" or "..")',
      '/files/{name}.json: the parameter in "{name}.json" is only part of a segment; the gateway matches whole segments (a route such as /files/{name} carries these calls)',
    ]);
    const json = importOpenApi(
      JSON.stringify({ openapi: '3.1.0', info: { title: 'J' }, paths: { '/a/{b}': { put: {} } } }),
    );
    expect(json.ok && json.routes).toEqual([{ method: 'PUT', path: '/a/{b}', summary: '' }]);
  });

  it('names the problem for documents it cannot use', () => {
    const msg = (t: string) => {
      const r = importOpenApi(t);
      return r.ok ? 'ok' : r.message;
    };
    expect(msg('')).toBe('the document is empty');
    expect(msg('{ nope')).toMatch(/^not valid JSON or YAML/);
    expect(msg('swagger: "2.0"\npaths: {}')).toMatch(/^openapi: must be a 3.x version/);
    expect(msg('openapi: 3.0.0\npaths: {}')).toBe('paths: the document has no operations');
    expect(msg('- a\n- b')).toBe('the document must be an object');
  });
});

describe('Markdown', () => {
  it('escapes raw HTML and drops dangerous links', () => {
    const html = renderMarkdown(
      '# Hi\n\n<script>alert(1)</script> <b onclick="x()">bold</b>\n\n[a](javascript:alert(1)) [b](data:text/html,x) [c](//evil.example) [d](https://ok.example) [e](/products) ![i](http://img.example/x.png)',
    );
    expect(html).toContain('<h1>Hi</h1>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).not.toContain('<b onclick');
    expect(html).not.toMatch(/href="(javascript|data):/);
    expect(html).not.toContain('href="//evil.example"');
    expect(html).toContain('<a href="https://ok.example" rel="nofollow noopener noreferrer">d</a>');
    expect(html).toContain('<a href="/products" rel="nofollow noopener noreferrer">e</a>');
    expect(html).not.toContain('<img');
  });
});

describe('plan editor', () => {
  const base = {
    name: 'Pro',
    apiIds: ['api_1'],
    'quota.limit': '10,000',
    'quota.period': 'MONTH',
    currency: 'usd',
    recurringFee: '10',
    'charges[0].dimension': 'requests',
    'charges[0].model': 'per_unit',
    'charges[0].unitPrice': '0.05',
  };

  it('turns the form into a plan and a price, and back', () => {
    const r = parsePlanForm(base, ['api_1']);
    expect(r.errors).toEqual({});
    expect(r.plan).toMatchObject({
      name: 'Pro',
      apiIds: ['api_1'],
      quota: { limit: 10000, period: 'MONTH' },
      throttle: null,
    });
    expect(r.price).toMatchObject({
      currency: 'USD',
      recurringFee: '10',
      charges: [{ dimension: 'requests', unitPrice: '0.05' }],
    });
    const again = planValues(
      {
        name: 'Pro',
        description: '',
        apiIds: ['api_1'],
        throttle: null,
        quota: { limit: 10000, period: 'MONTH', offset: 0, timeZone: 'UTC' },
        overQuota: 'block',
      } as never,
      {
        currency: 'USD',
        interval: 'month',
        billingTime: 'anniversary',
        recurringFee: '10',
        setupFee: '0',
        trialDays: 0,
        charges: [{ model: 'per_unit', dimension: 'requests', unitPrice: '0.05', includedUnits: 0 }],
      },
    );
    expect(again['charges[0].unitPrice']).toBe('0.05');
    expect(again['quota.limit']).toBe('10000');
  });

  it('names every bad field by its form name', () => {
    const r = parsePlanForm(
      {
        ...base,
        name: '',
        apiIds: ['api_someone_else'],
        'throttle.rateLimit': '5',
        'quota.limit': 'lots',
        currency: 'XYZ',
        'charges[0].unitPrice': '-1',
        'charges[2].dimension': 'chars',
        'charges[2].model': 'graduated',
        'charges[2].tiers': '1000: 0.1\n500: 0.05',
      },
      ['api_1'],
    );
    expect(Object.keys(r.errors).sort()).toEqual(
      [
        'apiIds',
        'charges[0].unitPrice',
        'charges[2].tiers',
        'currency',
        'name',
        'quota.limit',
        'throttle.burstLimit',
      ].sort(),
    );
    expect(r.errors['quota.limit']).toBe('must be a whole number');
  });

  it('previews what 1k / 100k / 10M calls cost, exactly', () => {
    const r = parsePlanForm(
      {
        ...base,
        'charges[0].model': 'graduated',
        'charges[0].includedUnits': '1000',
        'charges[0].tiers': '100000: 0.001\n*: 0.0001',
      },
      ['api_1'],
    );
    expect(r.errors).toEqual({});
    expect(previewSamples(r.price!).map((s) => s.total)).toEqual(['USD 10.00', 'USD 109.00', 'USD 1,099.90']);
  });
});

describe('helpers', () => {
  it('finds the billing period containing now, anchored at the subscription start', () => {
    const start = Date.UTC(2026, 0, 31, 12);
    expect(billingPeriodStart(start, 1, Date.UTC(2026, 1, 10))).toBe(start);
    expect(billingPeriodStart(start, 1, Date.UTC(2026, 2, 1))).toBe(Date.UTC(2026, 1, 28, 12));
    expect(billingPeriodStart(start, 12, Date.UTC(2027, 5, 1))).toBe(Date.UTC(2027, 0, 31, 12));
  });

  it('lists the months of the revenue chart', () => {
    expect(lastMonths(['2026-11'], '2026-12')).toEqual([
      '2026-07',
      '2026-08',
      '2026-09',
      '2026-10',
      '2026-11',
      '2026-12',
    ]);
    expect(lastMonths(['2025-01'], '2026-12')).toHaveLength(12);
  });
});
