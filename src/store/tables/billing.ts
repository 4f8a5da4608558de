/** Tables owned by the billing module. Add row interfaces here and list them in BillingTables. */
// biome-ignore lint/suspicious/noEmptyInterface: filled in by the billing module
export interface BillingTables {}
