/**
 * Pure face geometry and image steps of the photo path: the similarity fit recovers known
 * transforms, the template maps onto itself, the warp reproduces an image through a known
 * map, EXIF orientation tags are read and undone, SSD decoding and NMS behave, and the SSD
 * priors generated for any input size reproduce the ones shipped with the weights at 512.
 */
import { describe, expect, it } from 'vitest';
import {
  type Point,
  applySimilarity,
  chipTemplate,
  fitSimilarity,
  invertSimilarity,
  similarityDegrees,
  similarityScale,
} from '../../src/face/align.js';
import { decodeSsd, nonMaxSuppression, ssdGrids, ssdPriorCount, ssdPriors } from '../../src/face/ssd.js';
import { loadWeights } from '../../models/facenet/weights.js';
import { SSD_MANIFEST, shippedSsdPriors } from '../../models/photo/ssd.js';
import { exifOrientation, orientUpright } from '../../src/image/orientation.js';
import { scaledPlanar, warpAffine } from '../../src/image/warp.js';

describe('fitSimilarity', () => {
  it('recovers synthetic similarity transforms exactly from clean points, and closely from noisy ones', () => {
    let seed = 3;
    const r = () => {
      seed = (seed * 48271) % 2147483647;
      return seed / 2147483647 - 0.5;
    };
    for (let trial = 0; trial < 20; trial++) {
      const truth = { a: 0, b: 0, tx: r() * 400, ty: r() * 400 };
      const s = 0.2 + Math.abs(r()) * 5;
      const θ = r() * 2 * Math.PI;
      truth.a = s * Math.cos(θ);
      truth.b = s * Math.sin(θ);
      const from = Array.from({ length: 5 }, () => ({ x: r() * 300, y: r() * 300 }));
      const to = from.map((p) => applySimilarity(truth, p));
      const fit = fitSimilarity(from, to);
      for (const k of ['a', 'b', 'tx', 'ty'] as const) expect(fit[k]).toBeCloseTo(truth[k], 8);
      const noisy = to.map((p) => ({ x: p.x + r() * 0.5, y: p.y + r() * 0.5 }));
      const rough = fitSimilarity(from, noisy);
      expect(similarityScale(rough) / s).toBeCloseTo(1, 1);
      expect(Math.abs(similarityDegrees(rough) - (θ * 180) / Math.PI) % 360).toBeLessThan(2);
    }
  });

  it("maps dlib's template onto itself, and its inverse undoes it", () => {
    const template = chipTemplate(150, 0.25);
    // dlib: template point t → pixel (0.25 + t)·100 at 150 px.
    expect(template[0]!.x).toBeCloseTo((0.25 + 0.8596) * 100, 9);
    expect(template[4]!.y).toBeCloseTo((0.25 + 0.6278) * 100, 9);
    const identity = fitSimilarity(template, template);
    expect(identity.a).toBeCloseTo(1, 12);
    expect(identity.b).toBeCloseTo(0, 12);
    expect(identity.tx).toBeCloseTo(0, 9);
    const t = { a: 1.3, b: -0.4, tx: 12, ty: -7 };
    const back = invertSimilarity(t);
    const p: Point = { x: 33, y: 71 };
    const q = applySimilarity(back, applySimilarity(t, p));
    expect(q.x).toBeCloseTo(p.x, 9);
    expect(q.y).toBeCloseTo(p.y, 9);
  });

  it('refuses degenerate input', () => {
    expect(() => fitSimilarity([{ x: 1, y: 1 }], [{ x: 1, y: 1 }])).toThrow(/≥ 2 point pairs/);
    expect(() =>
      fitSimilarity(
        [
          { x: 1, y: 1 },
          { x: 1, y: 1 },
        ],
        [
          { x: 0, y: 0 },
          { x: 1, y: 1 },
        ],
      ),
    ).toThrow(/coincide/);
  });
});

describe('warpAffine', () => {
  const gradient = (w: number, h: number) => {
    const data = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set([x * 2, y * 2, 100], (y * w + x) * 3);
    return { width: w, height: h, data };
  };

  it('copies pixels through an integer translation and reads black outside', () => {
    const src = gradient(40, 30);
    const out = warpAffine(src, [1, 0, 5, 0, 1, 3], 10, 10);
    for (const [u, v] of [
      [0, 0],
      [9, 9],
      [4, 7],
    ] as const)
      expect([...out.data.subarray((v * 10 + u) * 3, (v * 10 + u) * 3 + 3)]).toEqual([(u + 5) * 2, (v + 3) * 2, 100]);
    const outside = warpAffine(src, [1, 0, 100, 0, 1, 100], 2, 2);
    expect([...outside.data]).toEqual(Array(12).fill(0));
  });

  it('averages over the footprint when shrinking (a 4×-shrunk checkerboard is uniform grey)', () => {
    const n = 64;
    const data = new Uint8Array(n * n * 3);
    for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) data.fill((x + y) % 2 ? 255 : 0, (y * n + x) * 3, (y * n + x) * 3 + 3);
    const out = warpAffine({ width: n, height: n, data }, [4, 0, 0, 0, 4, 0], 16, 16);
    for (const v of out.data) expect(Math.abs(v - 127.5)).toBeLessThanOrEqual(1);
  });

  it('shrinks axis-aligned by area: an integer factor gives block means, a fractional one follows a ramp, outside counts as black', () => {
    const src = gradient(40, 30);
    const half = warpAffine(src, [2, 0, 0, 0, 2, 0], 20, 15);
    // Block (2u, 2u+1) × (2v, 2v+1) of values x·2, y·2: means 4u + 1, 4v + 1.
    for (const [u, v] of [
      [0, 0],
      [19, 14],
      [7, 3],
    ] as const)
      expect([...half.data.subarray((v * 20 + u) * 3, (v * 20 + u) * 3 + 3)]).toEqual([4 * u + 1, 4 * v + 1, 100]);
    // 2.5× with a fractional offset: the mean of a ramp over the footprint [2.5u + 1.25, 2.5u + 3.75).
    const fractional = warpAffine(src, [2.5, 0, 1.25, 0, 2.5, 0], 12, 10);
    for (let u = 0; u < 12; u++) {
      const [lo, hi] = [2.5 * u + 1.25, 2.5 * u + 3.75];
      let sum = 0;
      for (let i = Math.floor(lo); i < Math.ceil(hi); i++) sum += (Math.min(hi, i + 1) - Math.max(lo, i)) * i * 2;
      expect(Math.abs(fractional.data[u * 3]! - sum / 2.5)).toBeLessThanOrEqual(0.5);
    }
    // The right half of the footprint lies outside a 40-wide source: half the value.
    const edge = warpAffine(src, [4, 0, 38, 0, 4, 0], 1, 1);
    expect(edge.data[2]).toBe(50);
  });

  it('gives the detector input in one pass, equal to the warp to a padded square read out planar', () => {
    const src = { width: 53, height: 37, data: Uint8Array.from({ length: 53 * 37 * 3 }, (_, i) => (i * 7919) % 256) };
    for (const s of [16, 20, 64]) {
      const k = Math.max(src.width, src.height) / s;
      const { data } = warpAffine(src, [k, 0, 0, 0, k, 0], s, s);
      const planar = new Float32Array(3 * s * s);
      for (let p = 0; p < s * s; p++) for (let c = 0; c < 3; c++) planar[c * s * s + p] = data[3 * p + c]!;
      expect(scaledPlanar(src, k, s), `side ${s}`).toEqual(planar);
    }
  });
});

/** A minimal JPEG prefix: SOI, an APP1 Exif segment with one Orientation entry, then EOI. */
function jpegWithOrientation(orientation: number, little: boolean): Uint8Array {
  const tiff = new DataView(new ArrayBuffer(26));
  tiff.setUint16(0, little ? 0x4949 : 0x4d4d);
  tiff.setUint16(2, 42, little);
  tiff.setUint32(4, 8, little);
  tiff.setUint16(8, 1, little);
  tiff.setUint16(10, 0x0112, little);
  tiff.setUint16(12, 3, little);
  tiff.setUint32(14, 1, little);
  tiff.setUint16(18, orientation, little);
  const exif = [...new TextEncoder().encode('Exif'), 0, 0, ...new Uint8Array(tiff.buffer)];
  const length = exif.length + 2;
  return Uint8Array.from([0xff, 0xd8, 0xff, 0xe1, length >> 8, length & 255, ...exif, 0xff, 0xd9]);
}

describe('EXIF orientation', () => {
  it('reads the tag in either byte order, and 1 when absent or malformed', () => {
    for (const o of [1, 3, 6, 8]) {
      expect(exifOrientation(jpegWithOrientation(o, true))).toBe(o);
      expect(exifOrientation(jpegWithOrientation(o, false))).toBe(o);
    }
    expect(exifOrientation(Uint8Array.from([0xff, 0xd8, 0xff, 0xd9]))).toBe(1);
    const truncated = jpegWithOrientation(6, true).subarray(0, 20);
    expect(exifOrientation(truncated)).toBe(1);
    expect(exifOrientation(new Uint8Array([0x89, 0x50, 0x4e, 0x47]))).toBe(1);
    expect(exifOrientation(jpegWithOrientation(9, true))).toBe(1);
  });

  it('turns each of the 8 orientations upright', () => {
    // Upright 3×2 image with distinct pixels; store it as each orientation would, then undo.
    const upright = { width: 3, height: 2, data: Uint8Array.from({ length: 18 }, (_, i) => i * 10) };
    const px = (img: { width: number; data: Uint8Array }, x: number, y: number) => img.data[(y * img.width + x) * 3]!;
    // What a camera stores for orientation o, from the EXIF definition of where the stored
    // 0th row and 0th column lie in the upright picture (5: left/top, 6: right/top, 7:
    // right/bottom, 8: left/bottom): upright (x, y) is stored at (sx, sy).
    const stored = (o: number) => {
      const swap = o >= 5;
      const [w, h] = swap ? [2, 3] : [3, 2];
      const data = new Uint8Array(18);
      for (let y = 0; y < 2; y++)
        for (let x = 0; x < 3; x++) {
          const [sx, sy] = {
            1: [x, y],
            2: [2 - x, y],
            3: [2 - x, 1 - y],
            4: [x, 1 - y],
            5: [y, x],
            6: [y, 2 - x],
            7: [1 - y, 2 - x],
            8: [1 - y, x],
          }[o]! as [number, number];
          data.set(upright.data.subarray((y * 3 + x) * 3, (y * 3 + x) * 3 + 3), (sy * w + sx) * 3);
        }
      return { width: w, height: h, data };
    };
    for (let o = 1; o <= 8; o++) {
      const back = orientUpright(stored(o), o);
      expect([back.width, back.height]).toEqual([3, 2]);
      for (let y = 0; y < 2; y++)
        for (let x = 0; x < 3; x++) expect(px(back, x, y), `orientation ${o} at ${x},${y}`).toBe(px(upright, x, y));
    }
  });
});

describe('SSD decoding', () => {
  it('decodes a zero encoding to its prior and scores by the sigmoid of logit 1; NMS keeps the best of overlapping boxes', () => {
    const priors = Float32Array.from([0.1, 0.2, 0.3, 0.4, 0.1, 0.2, 0.31, 0.41, 0.6, 0.6, 0.8, 0.9]);
    const encodings = new Float32Array(12);
    const logits = Float32Array.from([0, 2, 0, 0, 1, 0, 0, -3, 0]);
    const { boxes, scores } = decodeSsd(encodings, logits, priors);
    for (let i = 0; i < 4; i++) expect(boxes[i]).toBeCloseTo(priors[i]!, 6);
    expect(scores[0]).toBeCloseTo(1 / (1 + Math.exp(-2)), 6);
    expect(nonMaxSuppression(boxes, scores, { minScore: 0.01 })).toEqual([0, 2]);
    expect(nonMaxSuppression(boxes, scores, { minScore: 0.5 })).toEqual([0]);
  });

  it('generates the 5118 priors shipped with the weights at 512 px, and at 320 px keeps their pixel sizes and spacing', () => {
    const shipped = shippedSsdPriors(loadWeights(undefined, SSD_MANIFEST));
    const generated = ssdPriors(512);
    expect(generated.length).toBe(shipped.length);
    let worst = 0;
    for (let i = 0; i < shipped.length; i++) worst = Math.max(worst, Math.abs(generated[i]! - shipped[i]!));
    expect(worst).toBeLessThan(1e-6);
    expect(ssdGrids(320)).toEqual([20, 10, 5, 3, 2, 1]);
    const quick = ssdPriors(320);
    expect(quick.length).toBe(4 * ssdPriorCount(ssdGrids(320)));
    // The first prior of each map, in pixels: the same centre and size at 320 as at 512.
    let [a, b] = [0, 0];
    ssdGrids(512).forEach((g512, layer) => {
      const g320 = ssdGrids(320)[layer]!;
      const pixels = (p: Float32Array, k: number, size: number) => [...p.slice(4 * k, 4 * k + 4)].map((v) => v * size);
      const [p512, p320] = [pixels(generated, a, 512), pixels(quick, b, 320)];
      p320.forEach((v, j) => expect(v, `map ${layer}`).toBeCloseTo(p512[j]!, 3));
      const per = layer === 0 ? 3 : 6;
      a += g512 * g512 * per;
      b += g320 * g320 * per;
    });
  });
});
