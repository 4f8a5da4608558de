export { drainServer, trackResponses } from './drain.js';
export { ALWAYS_SERVING, type GatewayObserver, NO_LEDGER, type ServingGuard } from './hooks.js';
export { reseedChanged, seedQuotas } from './quota-seed.js';
export { QuotaSync } from './quota-sync.js';
export type { GatewayDeps } from './server.js';
export { Gateway } from './server.js';
export type { CompiledApi, CompiledPlan, CompiledRoute, KeyEntry, Snapshot } from './snapshot.js';
export { loadSnapshot } from './snapshot.js';
export { type BeforeSwap, SnapshotHolder } from './snapshot-holder.js';
