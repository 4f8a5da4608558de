/** Marketplace ids. `agr_` is local to this module (shared/ids.ts lists the common prefixes). */
import { newId } from '../shared/index.js';

export const agreementId = (now: number): string => `agr_${newId('prd', now).slice(4)}`;
export const exportId = (now: number): string => newId('mtr', now);
export const eventId = (now: number): string => newId('evt', now);
export const productId = (now: number): string => newId('prd', now);
