/**
 * @module env
 * The Worker's bindings (see wrangler.toml).
 */
export interface Env {
  /** Model manifest and ONNX files under `models/`. */
  MODELS: R2Bucket;
  /** Tenant data: per-image gradient bases, maps, results (`t/<tenant>/…`). */
  DATA: R2Bucket;
  /** Optional overrides (strings, as Worker vars are). */
  MAX_BODY_BYTES?: string;
  MAX_IMAGE_PIXELS?: string;
  /** Admission control per isolate (api/admission): image slots, their queue, the gradient queue. */
  IMAGE_CONCURRENCY?: string;
  IMAGE_QUEUE?: string;
  GRADIENT_QUEUE?: string;
}
