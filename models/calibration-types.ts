/**
 * @module models/calibration-types
 * The shape of `models/calibration.json`: what `npm run calibrate` measures and
 * `npm run models` reads (activation ranges for int8, μ, θ and accuracy figures).
 */
export interface OperatingPoint {
  /** Accept when cosine ≥ threshold. */
  threshold: number;
  eer: number;
  rocAuc: number;
  /** Accuracy over the calibration pairs at the threshold. */
  accuracy: number;
}

export interface Calibration {
  /** What the figures were measured on. */
  source: { pairsFile: string; images: number; pairs: number; genuine: number; impostor: number; people?: number };
  /** Runtime the figures were measured with. */
  runtime: string;
  activationRanges: Record<string, [number, number]>;
  /** Layers left in float in the int8 model (slower or less accurate in int8). */
  int8FloatLayers: string[];
  /** Mean raw fp32 embedding over the calibration images (the centred mode's μ). */
  embeddingMean: number[];
  fp32: { plain: OperatingPoint; centred: OperatingPoint };
  int8: { plain: OperatingPoint; centred: OperatingPoint; cosineToFp32: { mean: number; min: number } };
}
