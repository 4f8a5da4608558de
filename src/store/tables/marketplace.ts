/** Tables owned by the marketplace module. Add row interfaces here and list them in MarketplaceTables. */
// biome-ignore lint/suspicious/noEmptyInterface: filled in by the marketplace module
export interface MarketplaceTables {}
