/**
 * Capture request options: one parser for the GET query string and the POST JSON body.
 * Every refusal names its field. Ranges are the API contract (also in openapi.ts).
 */
import { badField } from '../http.js';

export type Format = 'png' | 'jpeg' | 'pdf';
export type WaitUntil = 'load' | 'domcontentloaded' | 'networkidle';

export interface Clip {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface CaptureOptions {
  url: URL;
  format: Format;
  width: number;
  height: number;
  deviceScaleFactor: number;
  fullPage: boolean;
  waitUntil: WaitUntil;
  waitForSelector: string | null;
  delay: number;
  /** Requested deadline, ms; null = the server's. The server's deadline caps it. */
  timeout: number | null;
  clip: Clip | null;
  darkMode: boolean;
  quality: number | null;
}

export const LIMITS = {
  width: { min: 100, max: 3840, default: 1280 },
  height: { min: 100, max: 2160, default: 800 },
  deviceScaleFactor: { min: 1, max: 3, default: 1 },
  delay: { min: 0, max: 10_000, default: 0 },
  timeout: { min: 1_000, max: 60_000 },
  quality: { min: 1, max: 100 },
  selectorLength: 500,
  urlLength: 2048,
} as const;

const FORMATS: readonly Format[] = ['png', 'jpeg', 'pdf'];
const WAITS: readonly WaitUntil[] = ['load', 'domcontentloaded', 'networkidle'];
const KEYS = new Set([
  'url',
  'format',
  'width',
  'height',
  'deviceScaleFactor',
  'fullPage',
  'waitUntil',
  'waitForSelector',
  'delay',
  'timeout',
  'clip',
  'darkMode',
  'quality',
]);

/** Options from `?url=…&width=…&clip=x,y,w,h`. */
export function optionsFromQuery(params: URLSearchParams): CaptureOptions {
  const raw: Record<string, unknown> = {};
  for (const [k, v] of params) {
    if (k in raw) throw badField(k, 'given more than once');
    raw[k] = v;
  }
  return parseOptions(raw, true);
}

export function parseOptions(input: unknown, fromQuery = false): CaptureOptions {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw badField('body', 'must be a JSON object');
  }
  const raw = input as Record<string, unknown>;
  for (const k of Object.keys(raw)) if (!KEYS.has(k)) throw badField(k, 'is not a known option');

  const url = parseUrl(raw.url);
  const format = oneOf('format', raw.format, FORMATS, 'png');
  const num = (field: keyof typeof LIMITS & string, integer: boolean): number | undefined =>
    number(field, raw[field], fromQuery, integer, LIMITS[field] as { min: number; max: number });
  const clip = parseClip(raw.clip, fromQuery);
  const quality = num('quality', true) ?? null;
  if (quality !== null && format !== 'jpeg') throw badField('quality', 'applies only to format jpeg');
  if (clip && format === 'pdf') throw badField('clip', 'does not apply to format pdf');
  const selector = raw.waitForSelector;
  if (selector !== undefined && (typeof selector !== 'string' || selector.length === 0)) {
    throw badField('waitForSelector', 'must be a non-empty string');
  }
  if (typeof selector === 'string' && selector.length > LIMITS.selectorLength) {
    throw badField('waitForSelector', `must be at most ${LIMITS.selectorLength} characters`);
  }
  return {
    url,
    format,
    width: num('width', true) ?? LIMITS.width.default,
    height: num('height', true) ?? LIMITS.height.default,
    deviceScaleFactor: num('deviceScaleFactor', false) ?? LIMITS.deviceScaleFactor.default,
    fullPage: bool('fullPage', raw.fullPage, fromQuery) ?? false,
    waitUntil: oneOf('waitUntil', raw.waitUntil, WAITS, 'load'),
    waitForSelector: typeof selector === 'string' ? selector : null,
    delay: num('delay', true) ?? LIMITS.delay.default,
    timeout: num('timeout', true) ?? null,
    clip,
    darkMode: bool('darkMode', raw.darkMode, fromQuery) ?? false,
    quality,
  };
}

function parseUrl(value: unknown): URL {
  if (value === undefined || value === '') throw badField('url', 'is required');
  if (typeof value !== 'string') throw badField('url', 'must be a string');
  if (value.length > LIMITS.urlLength)
    throw badField('url', `must be at most ${LIMITS.urlLength} characters`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw badField('url', 'is not an absolute URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw badField('url', 'must be http or https');
  if (url.username || url.password) throw badField('url', 'must not carry credentials');
  return url;
}

function oneOf<T extends string>(field: string, value: unknown, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !allowed.includes(value as T)) {
    throw badField(field, `must be one of ${allowed.join(', ')}`);
  }
  return value as T;
}

function number(
  field: string,
  value: unknown,
  fromQuery: boolean,
  integer: boolean,
  range: { min: number; max: number },
): number | undefined {
  if (value === undefined) return undefined;
  const n = fromQuery && typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n)) throw badField(field, 'must be a number');
  if (integer && !Number.isInteger(n)) throw badField(field, 'must be an integer');
  if (n < range.min || n > range.max) throw badField(field, `must be between ${range.min} and ${range.max}`);
  return n;
}

function bool(field: string, value: unknown, fromQuery: boolean): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'boolean') return value;
  if (fromQuery && (value === 'true' || value === '1' || value === '')) return true;
  if (fromQuery && (value === 'false' || value === '0')) return false;
  throw badField(field, 'must be a boolean');
}

function parseClip(value: unknown, fromQuery: boolean): Clip | null {
  if (value === undefined) return null;
  let parts: unknown[];
  if (fromQuery && typeof value === 'string') {
    parts = value.split(',').map((p) => (p.trim() === '' ? Number.NaN : Number(p)));
    if (parts.length !== 4) throw badField('clip', 'must be x,y,width,height');
  } else if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const c = value as Record<string, unknown>;
    for (const k of Object.keys(c)) {
      if (!['x', 'y', 'width', 'height'].includes(k)) throw badField(`clip.${k}`, 'is not a known field');
    }
    parts = [c.x, c.y, c.width, c.height];
  } else {
    throw badField('clip', 'must be an object {x, y, width, height}');
  }
  const names = ['x', 'y', 'width', 'height'] as const;
  const out = {} as Clip;
  parts.forEach((p, i) => {
    const name = names[i]!;
    if (typeof p !== 'number' || !Number.isFinite(p)) throw badField(`clip.${name}`, 'must be a number');
    const min = i < 2 ? 0 : 1;
    if (p < min || p > 16_384) throw badField(`clip.${name}`, `must be between ${min} and 16384`);
    out[name] = p;
  });
  return out;
}
