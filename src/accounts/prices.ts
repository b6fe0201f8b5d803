/**
 * @module accounts/prices
 * The price table, in units (docs/billing.md). A verify costs 1; an explanation costs 1 plus
 * 1 for every gradient basis it computes (an image already in the tenant's cache costs
 * nothing extra), and CorrRISE, which embeds 400 masked copies, costs as two new bases. The
 * most an operation can cost is reserved before the work and the difference refunded after.
 */
export type Operation = 'verify' | 'explain' | 'job';

export const PRICES = {
  verify: 1,
  explain: 1,
  /** Per gradient basis computed (not read from the cache). */
  newBasis: 1,
  /** CorrRISE's masked embeddings, in place of bases. */
  corrrise: 2,
} as const;

/** What an operation may cost at most: reserved from the balance before the work starts. */
export function maxUnits(operation: Operation): number {
  return operation === 'verify' ? PRICES.verify : PRICES.explain + Math.max(2 * PRICES.newBasis, PRICES.corrrise);
}

/** What an explanation costs once done, from how its bases were obtained. */
export function explanationUnits(method: string, bases: readonly ('hit' | 'miss' | 'none')[]): number {
  if (method === 'corrrise') return PRICES.explain + PRICES.corrrise;
  return PRICES.explain + bases.filter((b) => b === 'miss').length * PRICES.newBasis;
}
