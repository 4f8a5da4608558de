/** OpenAPI 3.1 description of the capture API and its routes in Tollgate's route form. */
import { problemSchema, type TollgateRoute } from '../routes.js';
import { LIMITS } from './options.js';

const int = (r: { min: number; max: number; default?: number }, description: string) => ({
  type: 'integer',
  minimum: r.min,
  maximum: r.max,
  ...(r.default !== undefined ? { default: r.default } : {}),
  description,
});

const optionProps = {
  url: {
    type: 'string',
    format: 'uri',
    maxLength: LIMITS.urlLength,
    description: 'http or https URL to capture',
  },
  format: { type: 'string', enum: ['png', 'jpeg', 'pdf'], default: 'png' },
  width: int(LIMITS.width, 'Viewport width, CSS pixels'),
  height: int(LIMITS.height, 'Viewport height, CSS pixels'),
  deviceScaleFactor: {
    type: 'number',
    minimum: LIMITS.deviceScaleFactor.min,
    maximum: LIMITS.deviceScaleFactor.max,
    default: 1,
    description: 'Device pixels per CSS pixel (image size = viewport × factor)',
  },
  fullPage: {
    type: 'boolean',
    default: false,
    description: 'Capture the whole scrollable page (capped height)',
  },
  waitUntil: { type: 'string', enum: ['load', 'domcontentloaded', 'networkidle'], default: 'load' },
  waitForSelector: {
    type: 'string',
    maxLength: LIMITS.selectorLength,
    description: 'CSS selector that must be visible before the capture',
  },
  delay: int(LIMITS.delay, 'Extra wait after loading, ms'),
  timeout: int(
    LIMITS.timeout,
    "Deadline for the whole capture (queueing included), ms; capped by the server's deadline, which is also the default (15,000 unless configured)",
  ),
  darkMode: { type: 'boolean', default: false, description: 'prefers-color-scheme: dark' },
  quality: int(LIMITS.quality, 'JPEG quality (jpeg only; default 80)'),
} as const;

const clipObject = {
  type: 'object',
  required: ['x', 'y', 'width', 'height'],
  additionalProperties: false,
  properties: {
    x: { type: 'number', minimum: 0 },
    y: { type: 'number', minimum: 0 },
    width: { type: 'number', minimum: 1 },
    height: { type: 'number', minimum: 1 },
  },
  description: 'Region to capture, CSS pixels (not with pdf)',
};

const queryParams = [
  ...Object.entries(optionProps).map(([name, schema]) => ({
    name,
    in: 'query',
    required: name === 'url',
    schema,
  })),
  {
    name: 'clip',
    in: 'query',
    required: false,
    schema: { type: 'string', pattern: '^[0-9.]+,[0-9.]+,[0-9.]+,[0-9.]+$' },
    description: 'x,y,width,height',
  },
];

const problem = (description: string) => ({
  description,
  headers: { 'x-tollgate-units': { schema: { type: 'string', const: '0' } } },
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
});

const captureResponses = {
  '200': {
    description: 'The capture',
    headers: {
      'x-tollgate-units': { schema: { type: 'string', const: '1' }, description: 'Captures to meter' },
      'x-capture-url': { schema: { type: 'string' }, description: 'URL finally loaded (after redirects)' },
      'x-capture-status': { schema: { type: 'string' }, description: "HTTP status of the page's document" },
      'x-capture-blocked': { schema: { type: 'string' }, description: 'Requests the safety policy refused' },
      'x-capture-truncated': { schema: { type: 'string' }, description: 'Present when a full page was cut' },
    },
    content: {
      'image/png': { schema: { type: 'string', contentMediaType: 'image/png' } },
      'image/jpeg': { schema: { type: 'string', contentMediaType: 'image/jpeg' } },
      'application/pdf': { schema: { type: 'string', contentMediaType: 'application/pdf' } },
    },
  },
  '400': problem('An option is invalid (the problem names the field)'),
  '403': problem('The URL, a redirect hop, or the page document resolves to a refused address'),
  '413': problem('The request body is too large'),
  '415': problem('POST bodies must be application/json'),
  '422': problem('The page or the output is larger than the caps'),
  '502': problem('The page could not be loaded'),
  '503': {
    ...problem('All capture slots and the queue are full; retry after the given seconds'),
    headers: { 'retry-after': { schema: { type: 'string' } } },
  },
  '504': problem('The capture did not finish before its deadline'),
};

export const captureOpenApi = {
  openapi: '3.1.0',
  info: {
    title: 'Tollgate sample: screen capture',
    version: '1.0.0',
    description:
      'Turns a URL into a PNG, JPEG or PDF using headless Chromium. Only public http(s) addresses are ' +
      'reachable (private, loopback, link-local and metadata addresses are refused, also after redirects ' +
      'and for every request the page makes). Metered per capture.',
  },
  paths: {
    '/capture': {
      get: {
        operationId: 'captureGet',
        summary: 'Capture a URL (options in the query string)',
        parameters: queryParams,
        responses: captureResponses,
      },
      post: {
        operationId: 'capturePost',
        summary: 'Capture a URL (options as JSON)',
        requestBody: {
          required: true,
          content: { 'application/json': { schema: { $ref: '#/components/schemas/CaptureRequest' } } },
        },
        responses: captureResponses,
      },
    },
    '/health': {
      get: {
        operationId: 'health',
        summary: 'Liveness: browser connected, pool occupancy',
        'x-internal': true,
        responses: { '200': { description: 'Up' }, '503': { description: 'Browser down' } },
      },
    },
    '/openapi.json': {
      get: {
        operationId: 'openapi',
        summary: 'This document',
        'x-internal': true,
        responses: { '200': { description: 'OpenAPI 3.1' } },
      },
    },
  },
  components: {
    schemas: {
      CaptureRequest: {
        type: 'object',
        required: ['url'],
        additionalProperties: false,
        properties: { ...optionProps, clip: clipObject },
      },
      Problem: problemSchema,
    },
  },
} as const;

export const captureRoutes: TollgateRoute[] = [
  { method: 'GET', path: '/capture', dimension: 'captures', units: 1, public: false },
  { method: 'POST', path: '/capture', dimension: 'captures', units: 1, public: false },
  { method: 'GET', path: '/health', dimension: 'requests', units: 0, public: true },
  { method: 'GET', path: '/openapi.json', dimension: 'requests', units: 0, public: true },
];
