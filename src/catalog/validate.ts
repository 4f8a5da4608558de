/** Zod issues → the catalogue's VALIDATION_FAILED with one `{ field, message }` per fault. */
import type { z } from 'zod';
import { type FieldIssue, TollgateError } from '../shared/index.js';

/** `['quota', 'limit']` → `quota.limit`; `['routes', 2, 'path']` → `routes[2].path`. */
export function fieldPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out;
}

export function zodIssues(error: z.ZodError, prefix: ReadonlyArray<PropertyKey> = []): FieldIssue[] {
  const issues: FieldIssue[] = [];
  for (const i of error.issues) {
    const path = [...prefix, ...i.path];
    if (i.code === 'unrecognized_keys') {
      for (const k of i.keys) issues.push({ field: fieldPath([...path, k]), message: 'unknown field' });
    } else {
      issues.push({ field: fieldPath(path) || '(body)', message: i.message });
    }
  }
  return issues;
}

export function validationError(error: z.ZodError, prefix: ReadonlyArray<PropertyKey> = []): TollgateError {
  const issues = zodIssues(error, prefix);
  const summary = issues
    .slice(0, 5)
    .map((i) => `${i.field}: ${i.message}`)
    .join('; ');
  return new TollgateError('VALIDATION_FAILED', summary || 'invalid input', issues);
}

/** Parses `input` or throws VALIDATION_FAILED naming each bad field. */
export function parse<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const r = schema.safeParse(input);
  if (!r.success) throw validationError(r.error);
  return r.data;
}
