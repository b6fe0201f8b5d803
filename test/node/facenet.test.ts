/**
 * The face model toolchain against its oracle: face-api's own TFJS FaceRecognitionNet
 * (WASM backend) on the same images; int8 against fp32; determinism; clear errors.
 */
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildModels } from '../../models/build.js';
import { MANIFEST_FILE, defaultWeightsDir, faceNetFp32, loadWeights } from '../../models/facenet/index.js';
import { embedBatch } from '../../src/engine/embed.js';
import { cosine, rocAuc } from '../../src/xfv/verification.js';
import { FACE_SPEC, loadPairs, loadRgb, rgbFloats } from '../../eval/lib/faces.js';
import { toModelInput } from '../../src/image/index.js';
import { nodeSession, ortNode, ortWeb, webSession } from '../../eval/lib/ort.js';
import { loadFaceApiOracle } from '../oracle/faceapi.js';
import { cosineF, describeWithFaces, distFile, distManifest, maxAbsDiff } from './helpers.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describeWithFaces('face net vs face-api TFJS on the 40 BBT faces', () => {
  const { pairs, images } = loadPairs();
  const index = new Map(images.map((p, i) => [p, i]));
  let tfjs: Float32Array[];
  let webFp32: Float32Array[];
  let nodeFp32: Float32Array[];
  let webInt8: Float32Array[];

  beforeAll(async () => {
    const oracle = await loadFaceApiOracle();
    const rgbs = images.map((p) => loadRgb(p));
    tfjs = rgbs.map((img) => oracle.descriptor(rgbFloats(img)));
    const inputs = rgbs.map((img) => toModelInput(img, FACE_SPEC));
    const web = await webSession(distFile('fp32'));
    const int8 = await webSession(distFile('int8'));
    const node = await nodeSession(distFile('fp32'));
    webFp32 = [];
    webInt8 = [];
    nodeFp32 = [];
    for (let i = 0; i < inputs.length; i += 8) {
      const chunk = inputs.slice(i, i + 8);
      webFp32.push(...(await embedBatch(ortWeb, web, chunk, 150)));
      webInt8.push(...(await embedBatch(ortWeb, int8, chunk, 150)));
      nodeFp32.push(...(await embedBatch(ortNode as unknown as typeof ortWeb, node as never, chunk, 150)));
    }
  });

  it('fp32 in onnxruntime-web equals TFJS: cosine ≥ 0.99999, max abs diff ≤ 1e-4 on every face', () => {
    expect(tfjs).toHaveLength(40);
    for (let i = 0; i < tfjs.length; i++) {
      expect(cosineF(webFp32[i]!, tfjs[i]!)).toBeGreaterThanOrEqual(0.99999);
      expect(maxAbsDiff(webFp32[i]!, tfjs[i]!)).toBeLessThanOrEqual(1e-4);
    }
  });

  it('fp32 in onnxruntime-node equals TFJS: cosine ≥ 0.99999, max abs diff ≤ 1e-4 on every face', () => {
    for (let i = 0; i < tfjs.length; i++) {
      expect(cosineF(nodeFp32[i]!, tfjs[i]!)).toBeGreaterThanOrEqual(0.99999);
      expect(maxAbsDiff(nodeFp32[i]!, tfjs[i]!)).toBeLessThanOrEqual(1e-4);
    }
  });

  it('int8 stays close to fp32: mean cosine ≥ 0.998, min ≥ 0.995', () => {
    const cos = webInt8.map((e, i) => cosineF(e, webFp32[i]!));
    const mean = cos.reduce((a, b) => a + b, 0) / cos.length;
    expect(mean).toBeGreaterThanOrEqual(0.998);
    expect(Math.min(...cos)).toBeGreaterThanOrEqual(0.995);
  });

  it('ROC AUC over the 780 pairs: int8 within 0.005 of fp32, fp32 within 0.001 of TFJS', () => {
    expect(pairs).toHaveLength(780);
    const auc = (emb: Float32Array[]) =>
      rocAuc(pairs.map((p) => ({ score: cosine(emb[index.get(p.a)!]!, emb[index.get(p.b)!]!), same: p.same })));
    const [aTf, aFp, aQ] = [auc(tfjs), auc(webFp32), auc(webInt8)];
    expect(Math.abs(aFp - aTf)).toBeLessThanOrEqual(0.001);
    expect(Math.abs(aQ - aFp)).toBeLessThanOrEqual(0.005);
    // The manifest's figures are the ones measured here.
    const m = distManifest();
    expect(m.accuracy.int8.plain.rocAuc).toBeCloseTo(aQ, 6);
    expect(m.accuracy.fp32.plain.rocAuc).toBeCloseTo(aFp, 6);
  });
});

describe('model build', () => {
  it('is deterministic: two builds give identical bytes', async () => {
    const a = mkdtempSync(join(tmpdir(), 'xfv-a-'));
    const b = mkdtempSync(join(tmpdir(), 'xfv-b-'));
    const ma = await buildModels(a);
    const mb = await buildModels(b);
    expect(ma.files).toEqual(mb.files);
    for (const f of Object.values(ma.files)) {
      expect(sha(readFileSync(join(a, f.path)))).toBe(sha(readFileSync(join(b, f.path))));
    }
    expect(readFileSync(join(a, 'manifest.json'))).toEqual(readFileSync(join(b, 'manifest.json')));
  });

  it('describes the model in the manifest, with hashes that match the files', () => {
    const m = distManifest();
    expect(m.id).toBe('face-resnet');
    expect(m.input).toMatchObject({ size: 150, channelOrder: 'RGB', layout: 'NCHW', mean: [122.782, 117.001, 104.298] });
    expect(m.output.size).toBe(128);
    expect(m.embeddingMean).toHaveLength(128);
    expect(m.decision.threshold).toBe(m.accuracy.int8.plain.threshold);
    for (const which of ['fp32', 'int8', 'grad', 'gradWeights'] as const) expect(sha(distFile(which))).toBe(m.files[which]!.sha256);
  });

  it('names the missing weights file', () => {
    const empty = mkdtempSync(join(tmpdir(), 'xfv-w-'));
    expect(() => loadWeights(empty)).toThrow(new RegExp(`weights manifest not found: .*${MANIFEST_FILE}`));
    cpSync(join(defaultWeightsDir(), MANIFEST_FILE), join(empty, MANIFEST_FILE));
    expect(() => loadWeights(empty)).toThrow(/weights file not found: .*face_recognition_model\.bin/);
  });

  it('names a tensor with the wrong shape or missing from the manifest', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xfv-w-'));
    cpSync(defaultWeightsDir(), dir, { recursive: true });
    const manifest = JSON.parse(readFileSync(join(dir, MANIFEST_FILE), 'utf8'));
    const fc = manifest[0].weights.find((w: { name: string }) => w.name === 'fc');
    fc.shape = [128, 256];
    writeFileSync(join(dir, MANIFEST_FILE), JSON.stringify(manifest));
    expect(() => faceNetFp32(loadWeights(dir))).toThrow(/tensor fc has shape \[128,256\], expected \[256,128\]/);
    manifest[0].weights = manifest[0].weights.filter((w: { name: string }) => w.name !== 'conv64_1/conv2/scale/biases');
    writeFileSync(join(dir, MANIFEST_FILE), JSON.stringify(manifest));
    expect(() => faceNetFp32(loadWeights(dir))).toThrow(/tensor conv64_1\/conv2\/scale\/biases is missing/);
  });
});
