/**
 * @module eval/lib/ranges
 * Activation ranges for int8 calibration: widen each quantisation point's [min, max] with the
 * values a probe graph's `probe:<point>` outputs took on one run.
 */
export type ActivationRanges = Record<string, [number, number]>;

export function widenRanges(ranges: ActivationRanges, points: string[], outputs: Record<string, { data: unknown }>): void {
  for (const p of points) {
    const data = outputs[`probe:${p}`]!.data as Float32Array;
    let [lo, hi] = ranges[p] ?? [Infinity, -Infinity];
    for (let i = 0; i < data.length; i++) {
      const v = data[i]!;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    ranges[p] = [lo, hi];
  }
}
