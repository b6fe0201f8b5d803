/**
 * FGGB maths on known cases, and the engine's explanations against the TFJS-only oracle
 * (face-api's net, tf.grad per normalised channel, DESIGN.md formulas) on real pairs:
 * raw S maps Pearson ≥ 0.999 and max abs difference ≤ 1e-3 of the map's range; the same
 * for xssab and gradient. Cached bases give the same maps as fresh ones.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type BasisCache, explainOptionsFor, explainPair } from '../../src/engine/explain-pair.js';
import { bytesBasisCache } from '../../src/store/basis.js';
import { gradientRunner, type GradientRunner, gradientShape } from '../../src/engine/gradient.js';
import type { OrtModule } from '../../src/engine/embed.js';
import { FggbAccumulator, affineMap, fggbWeights, splitSigned, summariseWeights } from '../../src/xfv/fggb.js';
import { blurFor, displayMap, gaussianBlur, minMax } from '../../src/xfv/display.js';
import { distGradient, ortWeb, webSession } from '../../eval/lib/ort.js';
import { tfjsBasis, tfjsBasisRow, tfjsFggb, tfjsGradient, tfjsImage, tfjsXssab, type TfjsImage } from '../oracle/fggb-tfjs.js';
import { SMOOTH_DEFAULTS, noisyCopy } from '../../src/xfv/smooth.js';
import { DIST_DIR } from '../../models/build.js';
import { describeWithFaces, distManifest, ditheredFace, inputToRgbFloats, rgbToInput } from './helpers.js';

describe('FGGB maths', () => {
  it('weights sum to cos − θ and the accumulator equals the direct sum', () => {
    const fA = [1, 2, -1, 0.5];
    const fB = [0.8, 2.1, -0.5, -0.2];
    const w = fggbWeights(fA, fB, 0.3);
    const sum = w.weights.reduce((a, b) => a + b, 0);
    expect(sum).toBeCloseTo(w.cosine - 0.3, 12);
    const basis = [
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
      [1, 1, 1],
    ].map((r) => Float32Array.from(r));
    const acc = new FggbAccumulator(3, w.weights);
    basis.forEach((g, k) => acc.add(k, g));
    const maps = acc.finish();
    const direct = [0, 1, 2].map((p) => basis.reduce((s, g, k) => s + w.weights[k]! * g[p]!, 0));
    direct.forEach((v, p) => expect(maps.raw[p]).toBeCloseTo(v, 6));
    maps.raw.forEach((v, p) => expect(maps.similarity[p]! - maps.dissimilarity[p]!).toBeCloseTo(v, 7));
    expect(() => acc.add(0, basis[0]!)).toThrow(/twice/);
    expect(() => new FggbAccumulator(3, w.weights).finish()).toThrow(/never added/);
  });

  it('P and Q give S at any θ: S(θ) = P − (θ/N)·Q equals the sum with that θ, through blocks and float16 codes', () => {
    const n = 8;
    const pixels = 37;
    let seed = 7;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return (seed / 2 ** 31) * 2 - 1;
    };
    const fA = Array.from({ length: n }, rand);
    const fB = Array.from({ length: n }, rand);
    const block = Float32Array.from({ length: n * pixels }, rand);
    const table = Float32Array.from({ length: 256 }, rand);
    const codes = Uint16Array.from(block, (_, i) => (i * 31) % 256);
    const valueAt = (k: number, i: number, coded: boolean) => (coded ? table[codes[k * pixels + i]!]! : block[k * pixels + i]!);
    for (const coded of [false, true]) {
      const θ0 = 0.31;
      const acc = new FggbAccumulator(pixels, fggbWeights(fA, fB, θ0).weights, { threshold: θ0 });
      // A block of 4 whole channels, then 1 + 3 single ones: both summing paths.
      const feed = (k0: number, count: number) => {
        const slice = coded
          ? { codes: codes.subarray(k0 * pixels, (k0 + count) * pixels), table }
          : block.subarray(k0 * pixels, (k0 + count) * pixels);
        acc.addBlock(k0, slice, count);
      };
      feed(0, 4);
      feed(4, 1);
      feed(5, 3);
      const { affine, raw } = acc.finish();
      expect(affine?.channels).toBe(n);
      // Independent float64 sums of P and Q.
      const products = fggbWeights(fA, fB, 0).weights;
      for (let i = 0; i < pixels; i++) {
        let p = 0;
        let q = 0;
        for (let k = 0; k < n; k++) {
          p += products[k]! * valueAt(k, i, coded);
          q += valueAt(k, i, coded);
        }
        expect(Math.abs(affine!.p[i]! - p)).toBeLessThan(1e-5);
        expect(Math.abs(affine!.q[i]! - q)).toBeLessThan(1e-5);
      }
      expect(Math.max(...affineMap(affine!, θ0).map((v, i) => Math.abs(v - raw[i]!)))).toBeLessThan(1e-5);
      for (const θ of [-0.5, 0, 0.62, 0.9]) {
        const other = new FggbAccumulator(pixels, fggbWeights(fA, fB, θ).weights);
        for (let k = 0; k < n; k++)
          other.add(
            k,
            Float32Array.from({ length: pixels }, (_, i) => valueAt(k, i, coded)),
          );
        const direct = other.finish().raw;
        const redrawn = affineMap(affine!, θ);
        expect(Math.max(...redrawn.map((v, i) => Math.abs(v - direct[i]!)))).toBeLessThan(1e-5);
      }
    }
  });

  it('identical embeddings give all-positive weights above θ/N, and a summary', () => {
    const f = [0.5, -0.5, Math.SQRT1_2];
    const w = fggbWeights(f, f, 0);
    expect(w.cosine).toBeCloseTo(1, 6);
    expect([...w.weights].every((v) => v >= 0)).toBe(true);
    const s = summariseWeights(w, 2);
    expect(s.positiveShare).toBeCloseTo(1, 12);
    expect(s.topChannels.map((c) => c.channel).sort()).toEqual([0, 2]);
    expect(splitSigned(Float32Array.from([1, -2])).dissimilarity[1]).toBe(2);
  });

  it('blur keeps the mass of a centred impulse, scales with the input, min–max maps to [0,1]', () => {
    expect(blurFor(112)).toEqual({ sigma: 5, kernel: 25 });
    expect(blurFor(150).kernel).toBe(33);
    const img = new Float32Array(41 * 41);
    img[20 * 41 + 20] = 1;
    const b = gaussianBlur(img, 41, 41, { sigma: 2, kernel: 13 });
    expect(b.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 5);
    expect(b[20 * 41 + 20]).toBeGreaterThan(b[20 * 41 + 22]!);
    const mm = minMax(Float32Array.from([2, 4, 3]));
    expect([...mm]).toEqual([0, 1, 0.5]);
    expect([...displayMap(new Float32Array(9).fill(3), 3, 3)]).toEqual(new Array(9).fill(0));
  });
});

function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < a.length; i++) {
    ma += a[i]! / a.length;
    mb += b[i]! / b.length;
  }
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < a.length; i++) {
    sab += (a[i]! - ma) * (b[i]! - mb);
    saa += (a[i]! - ma) ** 2;
    sbb += (b[i]! - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}

function expectClose(ours: ArrayLike<number>, ref: ArrayLike<number>, what: string) {
  let lo = Infinity;
  let hi = -Infinity;
  let err = 0;
  for (let i = 0; i < ref.length; i++) {
    lo = Math.min(lo, ref[i]!);
    hi = Math.max(hi, ref[i]!);
    err = Math.max(err, Math.abs(ours[i]! - ref[i]!));
  }
  expect(pearson(ours, ref), `${what}: Pearson`).toBeGreaterThanOrEqual(0.999);
  expect(err / (hi - lo), `${what}: max abs diff / range`).toBeLessThanOrEqual(1e-3);
}

describeWithFaces('explanations vs the TFJS oracle', () => {
  const files = ['amy/amy1.png', 'amy/amy2.png', 'raj/raj2.png', 'penny/penny1.png'];
  const pairs: [number, number][] = [
    [0, 1], // genuine
    [0, 2],
    [1, 3],
    [2, 3],
  ];
  const manifest = distManifest();
  const θ = manifest.gradient!.thresholdFp32;
  let runner: GradientRunner;
  let images: TfjsImage[];
  let inputs: Float32Array[];

  beforeAll(async () => {
    const gradient = distGradient(DIST_DIR);
    const session = await webSession(gradient.graph, gradient.options);
    runner = gradientRunner(ortWeb as unknown as OrtModule, session, gradientShape(manifest));
    const rgbs = files.map((f, i) => ditheredFace(`bbt/${f}`, 101 + i));
    inputs = rgbs.map(rgbToInput);
    images = await Promise.all(rgbs.map((r) => tfjsImage(r)));
    for (const img of images) img.basis = await tfjsBasis(img);
  }, 600_000);

  const run = (i: number, j: number, method: 'fggb' | 'xssab' | 'gradient', dtype: 'f32' | 'f16' = 'f32', cache?: BasisCache) =>
    explainPair(
      runner,
      [
        { x: inputs[i]!, basisKey: files[i]! },
        { x: inputs[j]!, basisKey: files[j]! },
      ],
      // No threshold: the served θ, whose explanation θ is the calibrated fp32 one (θ above).
      explainOptionsFor(manifest, { method, dtype, store: !!cache, cache }),
    );

  it.each(pairs)('FGGB raw S maps for pair %i–%i (both images)', async (i, j) => {
    const ours = await run(i, j, 'fggb');
    const [A, B] = [images[i]!, images[j]!];
    expectClose(ours.a.maps.raw, tfjsFggb(A.basis!, A.embedding, B.embedding, θ), 'S_A');
    expectClose(ours.b.maps.raw, tfjsFggb(B.basis!, B.embedding, A.embedding, θ), 'S_B');
  });

  it.each(pairs.slice(0, 2))('xssab and gradient baselines for pair %i–%i', async (i, j) => {
    const [A, B] = [images[i]!, images[j]!];
    const xs = await run(i, j, 'xssab');
    const [pos, neg] = await tfjsXssab(A, B.embedding, θ);
    expectClose(xs.a.maps.similarity, pos, 'xssab +');
    expectClose(xs.a.maps.dissimilarity, neg, 'xssab −');
    const gr = await run(i, j, 'gradient');
    expectClose(gr.a.maps.raw, await tfjsGradient(A, B.embedding), 'gradient');
  });

  it('smoothed bases: each row is the unit-norm mean of the TFJS autodiff rows over the same noisy copies', async () => {
    const smooth = SMOOTH_DEFAULTS;
    const n = manifest.output.size;
    const ks = [0, 17, 77, 127];
    const P = 150 * 150;
    const rows = new Map<number, Float32Array>();
    await runner.basis(
      inputs[0]!,
      new Float32Array(n),
      'f32',
      ({ k0, count, block }) => {
        for (const k of ks) if (k >= k0 && k < k0 + count) rows.set(k, (block as Float32Array).slice((k - k0) * P, (k - k0 + 1) * P));
      },
      smooth,
    );
    const copies = Array.from({ length: smooth.samples }, (_, i) => inputToRgbFloats(noisyCopy(inputs[0]!, i, smooth)));
    for (const k of ks) {
      const sum = new Float64Array(P);
      for (const rgb of copies) (await tfjsBasisRow(rgb, k, n)).forEach((v, p) => (sum[p]! += v));
      const norm = Math.sqrt(sum.reduce((a, v) => a + v * v, 0));
      expectClose(
        rows.get(k)!,
        sum.map((v) => v / norm),
        `smoothed Ĝ_${k}`,
      );
      // Smoothing changes the row (it is not the plain basis under another name).
      expect(pearson(rows.get(k)!, images[0]!.basis![k]!), `Ĝ_${k} smoothed vs plain`).toBeLessThan(0.99);
    }
  });

  it('maps from a cached basis equal fresh ones (float32 and float16)', async () => {
    for (const dtype of ['f32', 'f16'] as const) {
      const store = new Map<string, Uint8Array>();
      const cache = bytesBasisCache(
        (key) => store.get(key),
        (key, bytes) => store.set(key, bytes),
      );
      const fresh = await run(0, 2, 'fggb', dtype, cache);
      const cached = await run(0, 2, 'fggb', dtype, cache);
      expect([fresh.a.basis, cached.a.basis, cached.b.basis]).toEqual(['miss', 'hit', 'hit']);
      expect(store.get(files[0]!)!.length).toBe(64 + 4 * 128 + 128 * 22500 * (dtype === 'f32' ? 4 : 2));
      expect(cached.a.maps.raw).toEqual(fresh.a.maps.raw);
      expect(cached.b.maps.raw).toEqual(fresh.b.maps.raw);
      if (dtype === 'f16') {
        // float16 storage against the float32 oracle: still within the oracle's tolerance.
        expectClose(cached.a.maps.raw, tfjsFggb(images[0]!.basis!, images[0]!.embedding, images[2]!.embedding, θ), 'S_A (f16)');
      }
    }
  });
});
