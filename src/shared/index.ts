export type { Clock } from './clock.js';
export { ManualClock, systemClock } from './clock.js';
export type { ErrorCode, FieldIssue } from './errors.js';
export { ERRORS, invalid, isTollgateError, notFound, TollgateError } from './errors.js';
export type { IdPrefix } from './ids.js';
export { hasPrefix, newId } from './ids.js';
export type { Logger } from './logger.js';
export { createLogger, silentLogger } from './logger.js';
export * from './outbound/index.js';
