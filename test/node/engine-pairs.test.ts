/**
 * All 780 BBT pairs through the service's verify pipeline (engine/verify: decode →
 * preprocess → int8 embed in onnxruntime-web → cosine → decision at the manifest's θ), the
 * same code the Worker runs: the accept/reject rates are the ones the manifest's EER predicts.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, expect, it } from 'vitest';
import { distEngine } from '../../src/cli/dist-engine.js';
import type { Engine } from '../../src/engine/engine.js';
import { DEFAULT_LIMITS, verifyPair } from '../../src/engine/verify.js';
import type { EmbeddingCache } from '../../src/store/embedding-cache.js';
import { loadPairs } from '../../eval/lib/faces.js';
import { describeWithFaces, distManifest } from './helpers.js';

/** Embeddings by input hash in memory: each of the 40 faces is embedded once. */
function memoryEmbeddingCache(): EmbeddingCache & { size: number } {
  const stored = new Map<string, Float32Array>();
  return {
    get: async (sha) => stored.get(sha),
    put: async (sha, e) => void stored.set(sha, e),
    get size() {
      return stored.size;
    },
  };
}

describeWithFaces('verify pipeline on all 780 pairs', () => {
  const { pairs, images } = loadPairs();
  const manifest = distManifest();
  let engine: Engine;

  beforeAll(async () => {
    engine = await distEngine();
  });

  it('accepts genuine and rejects impostor pairs at the rates the manifest EER predicts', async () => {
    const bytes = new Map(images.map((p) => [p, new Uint8Array(readFileSync(p))]));
    const embeddings = memoryEmbeddingCache();
    let falseReject = 0;
    let falseAccept = 0;
    for (const p of pairs) {
      const { result } = await verifyPair(
        engine,
        { a: bytes.get(p.a)!, b: bytes.get(p.b)!, input: 'aligned-crop' },
        { limits: DEFAULT_LIMITS, embeddings },
      );
      expect(result.threshold).toBe(manifest.decision.threshold);
      const accept = result.decision === 'accept';
      if (p.same && !accept) falseReject++;
      if (!p.same && accept) falseAccept++;
    }
    expect(embeddings.size).toBe(images.length);
    const genuine = pairs.filter((p) => p.same).length;
    const frr = falseReject / genuine;
    const far = falseAccept / (pairs.length - genuine);
    const eer = manifest.accuracy.int8.plain.eer;
    expect(genuine).toBe(80);
    // At the EER point both error rates sit at the EER, within one genuine pair's step.
    expect(Math.abs(frr - eer)).toBeLessThanOrEqual(1 / genuine);
    expect(Math.abs(far - eer)).toBeLessThanOrEqual(1 / genuine);
    expect(1 - (falseReject + falseAccept) / pairs.length).toBeCloseTo(manifest.accuracy.int8.plain.accuracy, 9);
  });
});
