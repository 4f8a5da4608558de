/**
 * The sample upstream APIs Tollgate ships and sells in its demo: screen capture (URL →
 * PNG/JPEG/PDF) and proper-noun search (text → people, places, organisations). They stand
 * apart from the rest of Tollgate: plain HTTP services a gateway sits in front of.
 */
export { captureOpenApi, captureRoutes } from './capture/openapi.js';
export type { CaptureApiOptions, RunningApi } from './capture/server.js';
export { startCaptureApi } from './capture/server.js';
export type { TollgateRoute } from './routes.js';
