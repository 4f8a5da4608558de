/**
 * The sample upstream APIs Tollgate ships and sells in its demo: screen capture (URL →
 * PNG/JPEG/PDF) and proper-noun search (text → people, places, organisations). They stand
 * apart from the rest of Tollgate: plain HTTP services a gateway sits in front of.
 */
export { captureOpenApi, captureRoutes } from './capture/openapi.js';
export type { CaptureApiOptions } from './capture/server.js';
export { startCaptureApi } from './capture/server.js';
export type { Noun, NounType, Offset } from './nouns/extract.js';
export { extractNouns, NOUN_TYPES } from './nouns/extract.js';
export { nounsOpenApi, nounsRoutes } from './nouns/openapi.js';
export type { NameHit, NameResult } from './nouns/search.js';
export { searchNames } from './nouns/search.js';
export type { NounsApiOptions } from './nouns/server.js';
export { countCharacters, startNounsApi } from './nouns/server.js';
export type { RunningApi, TollgateRoute } from './routes.js';
