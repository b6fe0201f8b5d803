/**
 * @module xfv/manifest
 * Data shapes shared by the model toolchain and the service: `models/calibration.json`
 * (what `npm run calibrate` measures) and `models/dist/manifest.json` (what the Worker
 * reads from R2 to find, verify and use the model files), and the few facts every caller
 * derives from a manifest (model reference, input spec, the explanation's θ), defined once.
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

export interface PhotoModels {
  /** SSD MobileNetV1 (QDQ int8): input x[1,3,S,S] pixels 0…255, outputs boxes[1,P,4] encodings and classes[1,P,3] logits. */
  detector: { size: number; priors: number; minScore: number };
  /**
   * The same SSD on a smaller input (files.quickDetector; priors generated, src/face/ssd), run
   * first: its faces stand when there is one or more, each scores ≥ trustScore and is at
   * least minFaceRatio of the photo's longer side (its smallest anchor); otherwise the photo
   * is detected again with `detector`.
   */
  quickDetector?: { size: number; priors: number; minScore: number; trustScore: number; minFaceRatio: number };
  /**
   * face-api's Tiny Face Detector (files.tinyDetector; fp32): input x[1,3,S,S] pixels 0…255,
   * output grid[1,25,S/32,S/32] (src/face/tiny), NMS at iouThreshold. Run before
   * `quickDetector`, its faces stand by the same rules.
   */
  tinyDetector?: { size: number; minScore: number; iouThreshold: number; trustScore: number; minFaceRatio: number };
  /** 68-point landmarks: input x[B,3,S,S] pixels 0…255 (box padded to a square), output landmarks[B,136] in 0…1. */
  landmarks: { size: number; points: number };
  /** The aligned chip: dlib's 5-point template with this padding, at the embedding model's input size. */
  chip: { padding: number };
}

export interface ModelFile {
  path: string;
  sha256: string;
  bytes: number;
}

export interface ModelManifest {
  id: string;
  description: string;
  /** Hash of everything the build read; a change means the dist is stale. */
  buildKey: string;
  license: string;
  input: {
    name: string;
    shape: (number | string)[];
    size: number;
    channelOrder: 'RGB';
    layout: 'NCHW';
    mean: [number, number, number];
    scale: number;
    preprocessing: string;
  };
  output: { name: string; size: number; normalised: false };
  /** Decisions: cosine of the raw int8 embeddings ≥ threshold means "same person". */
  decision: { model: 'int8'; metric: 'cosine'; threshold: number; centredThreshold: number };
  /** The centred mode's μ (mean raw fp32 embedding over the calibration images). */
  embeddingMean: number[];
  accuracy: {
    source: { pairsFile: string; images: number; pairs: number; genuine: number; impostor: number; people?: number };
    runtime: string;
    fp32: { plain: OperatingPoint; centred: OperatingPoint };
    int8: { plain: OperatingPoint; centred: OperatingPoint; cosineToFp32: { mean: number; min: number } };
  };
  int8FloatLayers: string[];
  /**
   * grad is the gradient graph; its large weights are ONNX external data in gradWeights (named
   * by path). detector, priors and landmarks are the photo models (see `photo`).
   */
  files: {
    fp32: ModelFile;
    int8: ModelFile;
    grad?: ModelFile;
    gradWeights?: ModelFile;
    detector?: ModelFile;
    quickDetector?: ModelFile;
    tinyDetector?: ModelFile;
    priors?: ModelFile;
    landmarks?: ModelFile;
  };
  /** Face detection and landmarks for photos (files.detector, files.priors, files.landmarks). */
  photo?: PhotoModels;
  /** The gradient graph (x, cot, mean → embedding, grad, basis) and the fp32 θs FGGB uses. */
  gradient?: { inputs: string[]; outputs: string[]; thresholdFp32: number; centredThresholdFp32: number };
  /** How each explanation method's maps did against pair-independent answers (models/faithfulness.json). */
  faithfulness?: FaithfulnessEvidence;
}

/**
 * One map kind of one method, measured against answers that cannot explain a pair
 * (`npm run eval` with its controls, `npm run eval:transplants`; docs/evaluation.md).
 */
export interface MapEvidence {
  /**
   * Deletion AUC (gray) on the probes the kind is judged on: accuracy on accepted genuine
   * probes for similarity maps (lower is better), the mean cosine on rejected impostors for
   * dissimilarity maps (higher is better); the margin is how far the method's maps beat the
   * better of its own mean map over the other pairs and the centre prior (positive: beats them).
   */
  deletion: { maps: number; meanOfOthers: number; centrePrior: number; random: number; margin: number };
  /** A planted region: the maps' pointing AUC, and its margin over the probe's map before and the mean map. */
  transplant: { pointingAuc: number; before: number; meanOfOthers: number; margin: number };
  /** Beats both pair-independent answers on Deletion and points at a planted cause (AUC ≥ 0.8, ≥ 0.15 above both). */
  explainsPair: boolean;
}

export interface FaithfulnessEvidence {
  /** What was measured on, and how to reproduce it. */
  source: string;
  /** By the evaluation's method names (fggb, fggb-centred-smooth, xssab, corrrise, …). */
  methods: Record<string, { similarity: MapEvidence; dissimilarity: MapEvidence }>;
}

/** How responses and storage keys name the model: its id and the first 12 hex of its build key. */
export interface ModelRef {
  id: string;
  version: string;
}

export const modelRef = (manifest: ModelManifest): ModelRef => ({ id: manifest.id, version: manifest.buildKey.slice(0, 12) });

/** What preprocessing needs (image/preprocess's ModelInputSpec): input side, mean RGB and scale. */
export const inputSpec = (manifest: ModelManifest): Pick<ModelManifest['input'], 'size' | 'mean' | 'scale'> => ({
  size: manifest.input.size,
  mean: manifest.input.mean,
  scale: manifest.input.scale,
});

/**
 * θ in the explanation's weights (on the fp32 cosine of the mode's f̂, which the gradient
 * graph sees): the mode's calibrated θ, moved by as much as the caller's decision threshold
 * moves from the served one. So θ_expl − θ is the same for every θ, and a client that
 * redraws maps for another θ (S(θ) = P − (θ/N)·Q) adds that offset, read off any answer.
 */
export function explanationThreshold(
  manifest: ModelManifest,
  { centre, threshold }: { centre: boolean; threshold?: number | undefined },
): number {
  if (!manifest.gradient) throw new Error('the manifest has no gradient graph');
  const calibrated = centre ? manifest.gradient.centredThresholdFp32 : manifest.gradient.thresholdFp32;
  return calibrated + ((threshold ?? manifest.decision.threshold) - manifest.decision.threshold);
}
