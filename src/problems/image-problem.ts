/**
 * @module problems/image-problem
 * The problem each image error (image/ImageError) becomes, for a request and a job alike.
 */
import type { ImageError } from '../image/index.js';
import { ProblemError, type ProblemKind } from './problem.js';

const PROBLEM_OF: Record<ImageError['kind'], ProblemKind> = {
  unsupported: 'unsupported-media-type',
  'too-large': 'payload-too-large',
  'too-small': 'undecodable-image',
  undecodable: 'undecodable-image',
  'no-face': 'no-face',
};

/** The problem an image error becomes (the input it names goes in `field`). */
export const imageProblem = (e: ImageError) =>
  new ProblemError(PROBLEM_OF[e.kind], e.message, e.field ? { field: e.field } : {}, {}, { cause: e });
