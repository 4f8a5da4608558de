/**
 * The one error catalogue. Every fault or refusal that reaches a caller has a stable
 * UPPER_SNAKE code here; `renderProblem` (control plane) and the gateway map them to HTTP.
 * Admin errors render as RFC 9457 `application/problem+json`.
 */
export const ERRORS = {
  VALIDATION_FAILED: { status: 400, title: 'The request is not valid' },
  BAD_JSON: { status: 400, title: 'The body is not valid JSON' },
  UNAUTHENTICATED: { status: 401, title: 'A valid admin token is required' },
  FORBIDDEN: { status: 403, title: 'This token may not do that' },
  NOT_FOUND: { status: 404, title: 'No such resource' },
  METHOD_NOT_ALLOWED: { status: 405, title: 'Method not allowed' },
  CONFLICT: { status: 409, title: 'The resource conflicts with an existing one' },
  INVALID_STATE: { status: 409, title: 'The resource is not in a state that allows this' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'The body is too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Send application/json' },
  RATE_LIMITED: { status: 429, title: 'Too many attempts' },
  INTERNAL: { status: 500, title: 'Internal error' },
  UNAVAILABLE: { status: 503, title: 'Service unavailable' },
} as const;

export type ErrorCode = keyof typeof ERRORS;

export interface FieldIssue {
  /** JSON-pointer-ish path of the bad field, e.g. `quota.limit` or `routes[2].path`. */
  field: string;
  message: string;
}

/** A refusal the caller can fix. Throw it from services; the HTTP layer renders it. */
export class TollgateError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly issues: FieldIssue[];

  constructor(code: ErrorCode, message?: string, issues: FieldIssue[] = []) {
    super(message ?? ERRORS[code].title);
    this.name = 'TollgateError';
    this.code = code;
    this.status = ERRORS[code].status;
    this.issues = issues;
  }
}

export const notFound = (what: string, id: string): TollgateError =>
  new TollgateError('NOT_FOUND', `${what} ${id} does not exist`);

export const invalid = (field: string, message: string): TollgateError =>
  new TollgateError('VALIDATION_FAILED', `${field}: ${message}`, [{ field, message }]);

export function isTollgateError(e: unknown): e is TollgateError {
  return e instanceof TollgateError;
}
