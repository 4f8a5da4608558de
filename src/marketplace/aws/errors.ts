/**
 * awsJson1_1 errors as AWS's services send them: a status, header `x-amzn-errortype` and a
 * body `{"__type": "<ExceptionName>", "message": "…"}`. The official SDK maps `__type` to
 * its modelled exception class (InvalidTokenException, …); unmodelled names (e.g. the
 * framework's ValidationException) surface as a ServiceException whose `name` is the type.
 */
import { AwsError } from '../../aws/index.js';

export { AwsError };

export const awsError = (type: string, message: string, status = 400): AwsError =>
  new AwsError(type, message, status);

/** The Coral framework's constraint message, e.g. for more than 25 usage records. */
export function validationError(field: string, value: string, constraint: string): AwsError {
  return new AwsError(
    'ValidationException',
    `1 validation error detected: Value '${value}' at '${field}' failed to satisfy constraint: ${constraint}`,
  );
}
