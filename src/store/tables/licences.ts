/** Tables owned by the licences module. Add row interfaces here and list them in LicencesTables. */
// biome-ignore lint/suspicious/noEmptyInterface: filled in by the licences module
export interface LicencesTables {}
