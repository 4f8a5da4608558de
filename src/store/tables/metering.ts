/** Tables owned by the metering module. Add row interfaces here and list them in MeteringTables. */
// biome-ignore lint/suspicious/noEmptyInterface: filled in by the metering module
export interface MeteringTables {}
