/**
 * @module models/facenet
 * The face recognition net: weights from face-api, graphs in fp32, int8 (QDQ) and probe
 * (calibration) form.
 */
import { buildFaceNet, type ActivationRanges } from './network.js';
import type { WeightMap } from './weights.js';

export * from './network.js';
export * from './weights.js';

export const MODEL_ID = 'face-resnet';
export const MODEL_DOC = 'face-api.js FaceRecognitionNet (dlib ResNet-29 style), 150×150 RGB → 128-d raw descriptor';

export function faceNetFp32(weights: WeightMap): Uint8Array {
  return buildFaceNet(weights).graph.serialize({ doc: MODEL_DOC });
}

export function faceNetInt8(weights: WeightMap, ranges: ActivationRanges, floatLayers: string[] = []): Uint8Array {
  return buildFaceNet(weights, { int8: { ranges, floatLayers } }).graph.serialize({ doc: `${MODEL_DOC}; QDQ int8` });
}

/** fp32 graph exposing every quantisation point as `probe:<name>` outputs. */
export function faceNetProbe(weights: WeightMap): { model: Uint8Array; points: string[] } {
  const { graph, points } = buildFaceNet(weights, { probe: true });
  return { model: graph.serialize(), points };
}
