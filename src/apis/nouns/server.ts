/**
 * The proper-noun API. `POST /nouns` → the proper nouns of a text; `POST /nouns/search` →
 * whether and where given names occur. Text comes as JSON `{text, …}` or as `text/plain`
 * (options then in the query string). Metered dimension `characters`: every success
 * answers `x-tollgate-units: <characters>` (Unicode code points of the text; the price is
 * per 1,000), refusals `0`. compromise runs on the event loop, so the text is capped
 * (`maxChars`, default 100,000 ≈ 0.3 s of CPU) to bound the pause any one call can cause.
 */
import type { IncomingMessage } from 'node:http';
import { createLogger } from '../../shared/index.js';
import {
  ApiError,
  badField,
  closeServer,
  listen,
  makeServer,
  mediaType,
  parseJsonBody,
  readBody,
  sendJson,
} from '../http.js';
import type { RunningApi } from '../routes.js';
import { extractNouns, NOUN_TYPES, type NounType } from './extract.js';
import { nounsOpenApi } from './openapi.js';
import { searchNames } from './search.js';

export interface NounsApiOptions {
  port?: number;
  host?: string;
  /** Longest text accepted, in characters (code points). Default 100,000. */
  maxChars?: number;
  onError?: (e: unknown) => void;
}

export const NAME_LIMITS = { count: 100, length: 200 } as const;

interface Input {
  text: string;
  fields: Record<string, unknown>;
}

/** Code points: what a person calls characters (an emoji is one, not two UTF-16 units). */
export function countCharacters(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0xdc00 || c > 0xdfff) n++;
  }
  return n;
}

export async function startNounsApi(opts: NounsApiOptions = {}): Promise<RunningApi> {
  const log = createLogger({ name: 'apis.nouns' });
  const maxChars = opts.maxChars ?? 100_000;
  if (!Number.isInteger(maxChars) || maxChars < 1)
    throw new RangeError(`maxChars must be a positive integer`);
  // JSON may escape a character as \uXXXX\uXXXX (12 bytes); leave room for the other fields.
  const maxBytes = maxChars * 12 + 64 * 1024;

  const readInput = async (req: IncomingMessage, url: URL, allowed: string[]): Promise<Input> => {
    const type = mediaType(req);
    let text: unknown;
    const fields: Record<string, unknown> = {};
    if (type === 'application/json') {
      const body = parseJsonBody(await readBody(req, maxBytes));
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        throw badField('body', 'must be a JSON object');
      }
      for (const [k, v] of Object.entries(body)) {
        if (k === 'text') text = v;
        else if (allowed.includes(k)) fields[k] = v;
        else throw badField(k, 'is not a known field');
      }
    } else if (type === 'text/plain') {
      text = (await readBody(req, maxBytes)).toString('utf8');
      for (const k of new Set(url.searchParams.keys())) {
        if (!allowed.includes(k)) throw badField(k, 'is not a known query parameter');
        const values = url.searchParams.getAll(k).flatMap((v) => (k === 'types' ? v.split(',') : [v]));
        fields[k] = values;
      }
    } else {
      throw new ApiError(
        415,
        'UNSUPPORTED_MEDIA_TYPE',
        'send application/json or text/plain',
        'content-type',
      );
    }
    if (text === undefined) throw badField('text', 'is required');
    if (typeof text !== 'string') throw badField('text', 'must be a string');
    if (text.trim() === '') throw badField('text', 'must not be empty');
    const chars = countCharacters(text);
    if (chars > maxChars) {
      throw new ApiError(
        413,
        'TEXT_TOO_LONG',
        `text: ${chars} characters, over the ${maxChars} limit`,
        'text',
      );
    }
    return { text, fields };
  };

  const server = makeServer(
    {
      'GET /health': async (_req, res) => sendJson(res, 200, { status: 'ok', maxChars }),
      'GET /openapi.json': async (_req, res) => sendJson(res, 200, nounsOpenApi),
      'POST /nouns': async (req, res, url) => {
        const { text, fields } = await readInput(req, url, ['types']);
        const types = parseTypes(fields.types);
        const characters = countCharacters(text);
        sendJson(res, 200, { characters, nouns: extractNouns(text, types) }, units(characters));
      },
      'POST /nouns/search': async (req, res, url) => {
        const { text, fields } = await readInput(req, url, ['names', 'name']);
        const names = parseNames(fields.names ?? fields.name, fields.names !== undefined ? 'names' : 'name');
        const characters = countCharacters(text);
        sendJson(res, 200, { characters, results: searchNames(text, names) }, units(characters));
      },
    },
    opts.onError ?? ((e) => log.error({ err: e }, 'nouns fault')),
  );
  const url = await listen(server, opts.port ?? 0, opts.host ?? '127.0.0.1');
  return { url, close: () => closeServer(server) };
}

const units = (characters: number): Record<string, string> => ({
  'x-tollgate-units': String(characters),
  'cache-control': 'no-store',
});

function parseTypes(value: unknown): NounType[] {
  if (value === undefined) return [...NOUN_TYPES];
  if (!Array.isArray(value) || value.length === 0) throw badField('types', 'must be a non-empty array');
  return value.map((t, i) => {
    if (typeof t !== 'string' || !NOUN_TYPES.includes(t.trim() as NounType)) {
      throw badField(`types[${i}]`, `must be one of ${NOUN_TYPES.join(', ')}`);
    }
    return t.trim() as NounType;
  });
}

function parseNames(value: unknown, field: string): string[] {
  if (value === undefined) throw badField('names', 'is required');
  if (!Array.isArray(value) || value.length === 0) throw badField(field, 'must be a non-empty array');
  if (value.length > NAME_LIMITS.count) throw badField(field, `must hold at most ${NAME_LIMITS.count} names`);
  return value.map((n, i) => {
    if (typeof n !== 'string' || !/[\p{L}\p{N}]/u.test(n)) {
      throw badField(`${field}[${i}]`, 'must be a string with at least one letter or digit');
    }
    if (n.length > NAME_LIMITS.length) {
      throw badField(`${field}[${i}]`, `must be at most ${NAME_LIMITS.length} characters`);
    }
    return n;
  });
}
