/**
 * Errors in API Gateway's restJson1 shape: the status, an `x-amzn-errortype` header naming
 * the exception and a `{"message": "..."}` body, which the AWS SDK turns into a named
 * exception class (NotFoundException, BadRequestException…). Tollgate's catalogue codes map
 * onto the exceptions of the API Gateway model; faults answer 500 without internals.
 */
import type { Context } from 'hono';
import { AwsError } from '../aws/index.js';
import { type ErrorCode, isTollgateError, type Logger, TollgateError } from '../shared/index.js';

export type AwsErrorType =
  | 'BadRequestException'
  | 'UnauthorizedException'
  | 'AccessDeniedException'
  | 'NotFoundException'
  | 'ConflictException'
  | 'TooManyRequestsException'
  | 'ServiceUnavailableException'
  | 'InternalFailure';

/** A refusal in API Gateway's shape (the shared AWS error class with this model's names). */
export const awsError = (type: AwsErrorType, status: number, message: string) =>
  new AwsError(type, message, status);
export const badRequest = (message: string) => awsError('BadRequestException', 400, message);
export const notFoundAws = (message: string) => awsError('NotFoundException', 404, message);
export const conflict = (message: string) => awsError('ConflictException', 409, message);
export const unauthorized = (message: string) => awsError('UnauthorizedException', 401, message);

const BY_CODE: Record<ErrorCode, [AwsErrorType, number]> = {
  VALIDATION_FAILED: ['BadRequestException', 400],
  BAD_JSON: ['BadRequestException', 400],
  UNSUPPORTED_MEDIA_TYPE: ['BadRequestException', 400],
  PAYLOAD_TOO_LARGE: ['BadRequestException', 413],
  UNAUTHENTICATED: ['UnauthorizedException', 401],
  FORBIDDEN: ['AccessDeniedException', 403],
  NOT_FOUND: ['NotFoundException', 404],
  METHOD_NOT_ALLOWED: ['NotFoundException', 404],
  CONFLICT: ['ConflictException', 409],
  INVALID_STATE: ['ConflictException', 409],
  RATE_LIMITED: ['TooManyRequestsException', 429],
  UNAVAILABLE: ['ServiceUnavailableException', 503],
  INTERNAL: ['InternalFailure', 500],
};

export function toAwsError(err: TollgateError): AwsError {
  const [type, status] = BY_CODE[err.code];
  return awsError(type, status, err.message);
}

export function awsErrorResponse(e: AwsError): Response {
  return new Response(JSON.stringify({ message: e.message }), {
    status: e.status,
    headers: {
      'content-type': 'application/json',
      'x-amzn-errortype': e.type,
      'cache-control': 'no-store',
    },
  });
}

export function errorHandler(log: Logger) {
  return (err: Error, c: Context): Response => {
    if (err instanceof AwsError) return awsErrorResponse(err);
    if (isTollgateError(err)) return awsErrorResponse(toAwsError(err));
    log.error({ err, path: c.req.path }, 'apigateway API fault');
    return awsErrorResponse(awsError('InternalFailure', 500, 'Internal error; see the server log'));
  };
}

/** For `.catch`: a NOT_FOUND refusal becomes null; anything else is rethrown. */
export function nullIfNotFound(e: unknown): null {
  if ((isTollgateError(e) && e.code === 'NOT_FOUND') || (e instanceof AwsError && e.status === 404))
    return null;
  throw e;
}

export { AwsError, TollgateError };
