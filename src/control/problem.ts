/**
 * RFC 9457 problem details, the one error renderer of the admin API. Every refusal is a
 * `TollgateError` (code from src/shared/errors.ts) and renders as
 * `{ type, title, status, detail, code, errors: [{ field, message }], requestId, instance }`
 * with `Content-Type: application/problem+json`. Faults (anything else) are logged and
 * answer 500 INTERNAL without internals.
 */
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import {
  ERRORS,
  type ErrorCode,
  type FieldIssue,
  isTollgateError,
  type Logger,
  TollgateError,
} from '../shared/index.js';
import type { Env } from './env.js';

export const PROBLEM_TYPE = 'application/problem+json';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  errors: FieldIssue[];
  requestId: string;
  instance: string;
}

export function problemType(code: ErrorCode): string {
  return `urn:tollgate:problem:${code.toLowerCase().replaceAll('_', '-')}`;
}

export function problemResponse(c: Context<Env>, err: TollgateError): Response {
  const requestId = c.get('requestId') ?? '';
  const body: Problem = {
    type: problemType(err.code),
    title: ERRORS[err.code].title,
    status: err.status,
    detail: err.message,
    code: err.code,
    errors: err.issues,
    requestId,
    instance: c.req.path,
  };
  const headers: Record<string, string> = { 'content-type': PROBLEM_TYPE, 'x-request-id': requestId };
  if (err.code === 'UNAUTHENTICATED') headers['www-authenticate'] = 'Bearer realm="tollgate-admin"';
  return new Response(JSON.stringify(body), { status: err.status, headers });
}

/** Hono's own exceptions (from validators and the media-type gate) mapped to catalogue codes. */
function fromHttpException(e: HTTPException): TollgateError {
  switch (e.status) {
    case 400:
      return new TollgateError('BAD_JSON', e.message || ERRORS.BAD_JSON.title);
    case 401:
      return new TollgateError('UNAUTHENTICATED');
    case 404:
      return new TollgateError('NOT_FOUND');
    case 405:
      return new TollgateError('METHOD_NOT_ALLOWED');
    case 413:
      return new TollgateError('PAYLOAD_TOO_LARGE');
    case 415:
      return new TollgateError('UNSUPPORTED_MEDIA_TYPE');
    default:
      return new TollgateError(e.status >= 500 ? 'INTERNAL' : 'VALIDATION_FAILED', e.message);
  }
}

export function errorHandler(log: Logger) {
  return (err: Error, c: Context<Env>): Response => {
    if (isTollgateError(err)) return problemResponse(c, err);
    if (err instanceof HTTPException) return problemResponse(c, fromHttpException(err));
    log.error({ err, requestId: c.get('requestId'), path: c.req.path }, 'admin API fault');
    return problemResponse(
      c,
      new TollgateError('INTERNAL', 'Internal error; see the server log for this request id'),
    );
  };
}
