/**
 * The compiled gradient graph of the face net against TFJS autodiff through face-api's
 * own FaceRecognitionNet: 3 real faces × 8 channels, with μ = 0 and with the manifest's
 * μ; `grad` rows to 1e-4 relative, `basis` against the same reduction of the TFJS rows.
 *
 * The faces get ±0.5/255 dither: the BBT crops have flat regions where max-pool windows
 * tie, the network is not differentiable there, and onnxruntime and TFJS break ties
 * differently (both valid subgradients). Dither makes the test point differentiable.
 */
import { beforeAll, expect, it } from 'vitest';
import { distGradient, nodeSession, ortNode, ortWeb, webSession } from '../../eval/lib/ort.js';
import { loadFaceApiOracle, type FaceApiOracle } from '../oracle/faceapi.js';
import { DIST_DIR } from '../../models/build.js';
import { encodeHalf } from '../../src/store/float16.js';
import { describeWithFaces, distManifest, ditheredFace, rgbToInput } from './helpers.js';

const IMAGES = ['bbt/amy/amy1.png', 'bbt/raj/raj2.png', 'bbt/sheldon/sheldon4.png'];
const CHANNELS = [0, 9, 31, 50, 64, 77, 101, 127];
const N = 128;
const S = 150;

function basisOf(row: Float32Array): Float64Array {
  const m = new Float64Array(S * S);
  for (let c = 0; c < 3; c++) for (let p = 0; p < S * S; p++) m[p]! += Math.abs(row[c * S * S + p]!) / 3;
  const norm = Math.sqrt(m.reduce((a, v) => a + v * v, 0)) + 1e-8;
  return m.map((v) => v / norm);
}

function relError(got: ArrayLike<number>, ref: ArrayLike<number>): number {
  let err = 0;
  let scale = 0;
  for (let i = 0; i < ref.length; i++) {
    err = Math.max(err, Math.abs(got[i]! - ref[i]!));
    scale = Math.max(scale, Math.abs(ref[i]!));
  }
  return err / scale;
}

describeWithFaces('face net gradient graph vs TFJS autodiff', () => {
  let oracle: FaceApiOracle;
  beforeAll(async () => {
    oracle = await loadFaceApiOracle();
  });

  it.each([
    ['μ = 0', false],
    ['manifest μ (centred)', true],
  ])('grad and basis rows match, %s', async (_label, centred) => {
    const mean = centred ? Float32Array.from(distManifest().embeddingMean) : new Float32Array(N);
    const grad = distGradient(DIST_DIR);
    const web = await webSession(grad.graph, grad.options);
    const node = await nodeSession(grad.graph, grad.options);
    const cot = new Float32Array(CHANNELS.length * N);
    CHANNELS.forEach((k, i) => (cot[i * N + k] = 1));
    for (const [i, path] of IMAGES.entries()) {
      const rgb = ditheredFace(path, 11 + i);
      const x = rgbToInput(rgb);
      const feeds = <Tns>(T: new (type: 'float32', data: Float32Array, dims: number[]) => Tns) => ({
        x: new T('float32', x, [1, 3, S, S]),
        cot: new T('float32', cot, [CHANNELS.length, N]),
        mean: new T('float32', mean, [1, N]),
      });
      const outWeb = await web.run(feeds(ortWeb.Tensor), ['grad', 'basis', 'basis16']);
      const outNode = await node.run(feeds(ortNode.Tensor), ['grad']);
      const gw = outWeb.grad!.data as Float32Array;
      const gn = outNode.grad!.data as Float32Array;
      const bw = outWeb.basis!.data as Float32Array;
      // basis16 (what the Worker stores) is basis rounded to float16, nearest even.
      const b16 = outWeb.basis16!.data as Uint16Array;
      expect(outWeb.basis16!.type).toBe('float16');
      expect(Array.from(b16)).toEqual(Array.from(encodeHalf(bw)));
      CHANNELS.forEach((k, r) => {
        const c = new Float32Array(N);
        c[k] = 1;
        const ref = oracle.gradient(rgb, c, mean);
        const row = (a: Float32Array, len: number) => a.subarray(r * len, (r + 1) * len);
        expect(relError(row(gw, 3 * S * S), ref), `${path} channel ${k} (web)`).toBeLessThanOrEqual(1e-4);
        expect(relError(row(gn, 3 * S * S), ref), `${path} channel ${k} (node)`).toBeLessThanOrEqual(1e-4);
        expect(relError(row(bw, S * S), basisOf(ref)), `${path} channel ${k} basis`).toBeLessThanOrEqual(1e-4);
      });
    }
    await web.release();
    await node.release();
  });
});
