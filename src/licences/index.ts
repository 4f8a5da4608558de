/**
 * Wholesale licences: the front door. Pure signing/verification (token, keys), the
 * deployment's guard and activation client, and the provider's persisted service.
 */
export type { ActivateWithGraceOptions, ActivationOutcome } from './client.js';
export { activateWithGrace } from './client.js';
export type { GuardStatus, LicenceGuardOptions, PeriodicCheckOptions } from './guard.js';
export { LicenceGuard, startPeriodicCheck } from './guard.js';
export type { JsonHandler, JsonResponse } from './http/handlers.js';
export { ACTIVATION_STATUS, activationHandler, publicKeysHandler, releaseHandler } from './http/handlers.js';
export {
  generateSigningKey,
  MIN_SECRET_LENGTH,
  openPrivateJwk,
  parsePublicKeySet,
  sealPrivateJwk,
} from './keys.js';
export type {
  IssueInput,
  LicenceRecord,
  Licences,
  LicencesOptions,
  SigningKeyInfo,
  SigningKeyStatus,
} from './service.js';
export { createLicences } from './service.js';
export type { OpenLicenceGuardOptions } from './startup.js';
export { licenceThrottle, openLicenceGuard, readLicenceFile, readPublicKeysFile } from './startup.js';
export type { DeploymentChange } from './timeline.js';
export { deploymentTimeline } from './timeline.js';
export type { VerifyOptions } from './token.js';
export { peekLicence, signLicence, verifyLicence } from './token.js';
export type {
  ActivationDenialCode,
  ActivationResult,
  DeploymentSegment,
  Licence,
  LicenceClaims,
  LicenceDenialCode,
  LicenceLimits,
  LicenceTerms,
  PublicJwk,
  PublicKeySet,
  SigningKeyPair,
  VerifyResult,
} from './types.js';
export { LICENCE_TYP } from './types.js';
