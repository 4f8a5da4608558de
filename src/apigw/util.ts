import { badRequest } from './errors.js';

/** The body as a JSON object ({} when empty); anything else is a BadRequestException. */
export function jsonOf<T>(text: string): T {
  if (text.trim() === '') return {} as T;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw badRequest(`body: not valid JSON (${(e as Error).message})`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw badRequest('body: must be a JSON object');
  return v as T;
}
