/**
 * @module engine/face-choice
 * Which face of a photo a request verifies (the largest unless it picks one by index or by a
 * point inside the face), and how each face found is reported, in photo pixels.
 */
import type { Point } from '../face/align.js';
import type { Box } from '../face/ssd.js';
import { ImageError } from '../image/index.js';
import type { FoundFace } from './faces.js';

/** Which face of a photo to use: by index in `faces`, or the one whose box holds a point. */
export type FaceChoice = { index: number } | { point: Point };

export interface FaceReport {
  box: { x: number; y: number; width: number; height: number };
  score: number;
  /** Eye corners (image-right eye outer, inner; image-left eye outer, inner) and nose, photo pixels. */
  keyPoints: Point[];
}

/** The chosen face's index in `faces`, or −1 when the choice names none of them. */
export function chosenIndex(faces: Box[], choice: FaceChoice | undefined, scale: number): number {
  if (!choice) return faces.length > 0 ? 0 : -1;
  if ('index' in choice) return choice.index < faces.length ? choice.index : -1;
  const [x, y] = [choice.point.x / scale, choice.point.y / scale];
  return faces.findIndex((f) => x >= f.x && x <= f.x + f.width && y >= f.y && y <= f.y + f.height);
}

/** The chosen face's index in `faces` (at least one), or 422 no-face naming what was asked. */
export function choose(field: string, faces: FoundFace[], choice: FaceChoice | undefined, scale: number): number {
  const i = chosenIndex(faces, choice, scale);
  if (i >= 0) return i;
  if (choice && 'point' in choice)
    throw new ImageError('no-face', `image ${field}: no detected face contains the point (${choice.point.x}, ${choice.point.y})`, field);
  throw new ImageError('no-face', `image ${field} has ${faces.length} face(s); face index ${choice?.index ?? 0} does not exist`, field);
}

const round = (v: number) => Math.round(v * 10) / 10;
/** A face in photo pixels (`scale` photo pixels per decoded pixel). */
export const faceReport = (f: FoundFace, scale: number): FaceReport => ({
  box: { x: round(f.x * scale), y: round(f.y * scale), width: round(f.width * scale), height: round(f.height * scale) },
  score: Math.round(f.score * 1e4) / 1e4,
  keyPoints: f.keyPoints.map((p) => ({ x: round(p.x * scale), y: round(p.y * scale) })),
});
