/**
 * @module api/vars
 * Read numeric Worker vars (strings) with a fallback for missing or invalid values.
 */
export function intVar(value: string | undefined, fallback: number, { min = 1 }: { min?: number } = {}): number {
  const n = Number(value);
  return value !== undefined && value !== '' && Number.isFinite(n) && n >= min ? Math.floor(n) : fallback;
}
