/**
 * All 780 BBT pairs through the service's engine path (decode → preprocess → int8 embed in
 * onnxruntime-web → cosine → decision at the manifest's θ): the accept/reject rates are
 * the ones the manifest's EER predicts.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, expect, it } from 'vitest';
import { embedBatch } from '../../src/engine/embed.js';
import { decodeImage, toModelInput } from '../../src/image/index.js';
import { cosine } from '../../src/xfv/verification.js';
import { loadPairs } from '../../eval/lib/faces.js';
import { ortWeb, webSession } from '../../eval/lib/ort.js';
import { describeWithFaces, distFile, distManifest } from './helpers.js';

describeWithFaces('engine on all 780 pairs', () => {
  const { pairs, images } = loadPairs();
  const manifest = distManifest();
  const embeddings = new Map<string, Float32Array>();

  beforeAll(async () => {
    const session = await webSession(distFile('int8'));
    const spec = { size: manifest.input.size, mean: manifest.input.mean, scale: manifest.input.scale };
    for (const path of images) {
      const [e] = await embedBatch(ortWeb, session, [toModelInput(decodeImage(readFileSync(path)), spec)], spec.size);
      embeddings.set(path, e!);
    }
  });

  it('accepts genuine and rejects impostor pairs at the rates the manifest EER predicts', () => {
    const θ = manifest.decision.threshold;
    let falseReject = 0;
    let falseAccept = 0;
    for (const p of pairs) {
      const accept = cosine(embeddings.get(p.a)!, embeddings.get(p.b)!) >= θ;
      if (p.same && !accept) falseReject++;
      if (!p.same && accept) falseAccept++;
    }
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
