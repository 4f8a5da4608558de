/**
 * The AWS kit shared by Tollgate's AWS-compatible endpoints (`/apigateway`, the
 * Marketplace Metering/Entitlement endpoint, marketplace notifications): one SigV4
 * verifier, one error class, and reading a request as SigV4 sees it.
 */
export { AwsError } from './errors.js';
export {
  type IncomingRequest,
  incomingRequest,
  parseAmzDate,
  type SigV4Options,
  verifySigV4,
} from './sigv4.js';
