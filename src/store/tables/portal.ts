/** Tables owned by the portal module. Add row interfaces here and list them in PortalTables. */
// biome-ignore lint/suspicious/noEmptyInterface: filled in by the portal module
export interface PortalTables {}
