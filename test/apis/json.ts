/** Response bodies in tests are checked field by field by the assertions that read them. */
// biome-ignore lint/suspicious/noExplicitAny: assertion targets; the assertions are the type check
export type Json = any;

export const readJson = async (res: Response): Promise<Json> => (await res.json()) as Json;
