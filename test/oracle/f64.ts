/**
 * @module test/oracle/f64
 * A float64 reference interpreter for the forward ops the gradient compiler supports,
 * written independently of onnxruntime, plus the central-difference Jacobian of the
 * normalised embedding f̂ = (F − μ)/(‖F − μ‖ + 1e-8). In float64 with h = 1e-6 the
 * difference error is ~1e-9 relative: a sound oracle for fp32 gradients.
 */
import type { ModelProto, NodeProto } from '../../models/onnx/proto.js';
import { attrFloat, attrInt, attrInts, attrString, tensorValues } from '../../models/compiler/tensors.js';

export interface T {
  dims: number[];
  data: Float64Array;
}

const size = (d: number[]) => d.reduce((a, b) => a * b, 1);
const strides = (d: number[]) => d.map((_, i) => size(d.slice(i + 1)));
const t = (dims: number[], data?: Float64Array): T => ({ dims, data: data ?? new Float64Array(size(dims)) });

function broadcast(a: T, b: T, f: (x: number, y: number) => number): T {
  const r = Math.max(a.dims.length, b.dims.length);
  const ad = [...Array(r - a.dims.length).fill(1), ...a.dims];
  const bd = [...Array(r - b.dims.length).fill(1), ...b.dims];
  const od = ad.map((x, i) => Math.max(x, bd[i]!));
  const out = t(od);
  const os = strides(od);
  const as = strides(ad);
  const bs = strides(bd);
  for (let i = 0; i < out.data.length; i++) {
    let ia = 0;
    let ib = 0;
    for (let k = 0; k < r; k++) {
      const c = Math.floor(i / os[k]!) % od[k]!;
      ia += (ad[k] === 1 ? 0 : c) * as[k]!;
      ib += (bd[k] === 1 ? 0 : c) * bs[k]!;
    }
    out.data[i] = f(a.data[ia]!, b.data[ib]!);
  }
  return out;
}

function conv(x: T, w: T, b: T | undefined, node: NodeProto): T {
  const [n, , h, wd] = x.dims as [number, number, number, number];
  const [m, cg, kh, kw] = w.dims as [number, number, number, number];
  const group = attrInt(node, 'group', 1);
  const [sh, sw] = attrInts(node, 'strides') ?? [1, 1];
  const [dh, dw] = attrInts(node, 'dilations') ?? [1, 1];
  let [pt, pl, pb, pr] = attrInts(node, 'pads') ?? [0, 0, 0, 0];
  const autoPad = attrString(node, 'auto_pad', 'NOTSET');
  if (autoPad.startsWith('SAME')) {
    const total = (n: number, s: number, k: number, d: number) => Math.max(0, (Math.ceil(n / s) - 1) * s + (k - 1) * d + 1 - n);
    const th = total(h, sh!, kh, dh!);
    const tw = total(wd, sw!, kw, dw!);
    const upper = autoPad === 'SAME_UPPER';
    [pt, pb] = upper ? [Math.floor(th / 2), th - Math.floor(th / 2)] : [th - Math.floor(th / 2), Math.floor(th / 2)];
    [pl, pr] = upper ? [Math.floor(tw / 2), tw - Math.floor(tw / 2)] : [tw - Math.floor(tw / 2), Math.floor(tw / 2)];
  }
  const ho = Math.floor((h + pt! + pb! - dh! * (kh - 1) - 1) / sh!) + 1;
  const wo = Math.floor((wd + pl! + pr! - dw! * (kw - 1) - 1) / sw!) + 1;
  const out = t([n, m, ho, wo]);
  const mg = m / group;
  for (let o = 0; o < m; o++) {
    const gi = Math.floor(o / mg);
    for (let y = 0; y < ho; y++)
      for (let xx = 0; xx < wo; xx++) {
        let s = b ? b.data[o]! : 0;
        for (let i = 0; i < cg; i++)
          for (let ky = 0; ky < kh; ky++)
            for (let kx = 0; kx < kw; kx++) {
              const iy = y * sh! - pt! + ky * dh!;
              const ix = xx * sw! - pl! + kx * dw!;
              if (iy < 0 || ix < 0 || iy >= h || ix >= wd) continue;
              s += x.data[((gi * cg + i) * h + iy) * wd + ix]! * w.data[((o * cg + i) * kh + ky) * kw + kx]!;
            }
        out.data[(o * ho + y) * wo + xx] = s;
      }
  }
  return out;
}

function pool(x: T, node: NodeProto, kind: 'max' | 'avg'): T {
  const [n, c, h, w] = x.dims as [number, number, number, number];
  const [kh, kw] = attrInts(node, 'kernel_shape') as [number, number];
  const [sh, sw] = attrInts(node, 'strides') ?? [1, 1];
  const [pt, pl, pb, pr] = attrInts(node, 'pads') ?? [0, 0, 0, 0];
  const include = attrInt(node, 'count_include_pad', 0) === 1;
  const ho = Math.floor((h + pt! + pb! - kh) / sh!) + 1;
  const wo = Math.floor((w + pl! + pr! - kw) / sw!) + 1;
  const out = t([n, c, ho, wo]);
  for (let ch = 0; ch < c; ch++)
    for (let y = 0; y < ho; y++)
      for (let xx = 0; xx < wo; xx++) {
        let acc = kind === 'max' ? -Infinity : 0;
        let count = 0;
        for (let ky = 0; ky < kh; ky++)
          for (let kx = 0; kx < kw; kx++) {
            const iy = y * sh! - pt! + ky;
            const ix = xx * sw! - pl! + kx;
            const inside = iy >= 0 && ix >= 0 && iy < h && ix < w;
            const inPadded = iy >= -pt! && ix >= -pl! && iy < h + pb! && ix < w + pr!;
            if (kind === 'max') {
              if (inside) acc = Math.max(acc, x.data[(ch * h + iy) * w + ix]!);
            } else {
              if (inside) acc += x.data[(ch * h + iy) * w + ix]!;
              if (inside || (include && inPadded)) count++;
            }
          }
        out.data[(ch * ho + y) * wo + xx] = kind === 'max' ? acc : acc / count;
      }
  return out;
}

function transpose(x: T, perm: number[]): T {
  const od = perm.map((p) => x.dims[p]!);
  const out = t(od);
  const is = strides(x.dims);
  const os = strides(od);
  for (let i = 0; i < out.data.length; i++) {
    let src = 0;
    for (let k = 0; k < od.length; k++) src += (Math.floor(i / os[k]!) % od[k]!) * is[perm[k]!]!;
    out.data[i] = x.data[src]!;
  }
  return out;
}

function matmul(a: T, b: T): T {
  const [kin, n] = b.dims as [number, number];
  const rows = a.data.length / kin;
  const out = t([...a.dims.slice(0, -1), n]);
  for (let r = 0; r < rows; r++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < kin; k++) s += a.data[r * kin + k]! * b.data[k * n + j]!;
      out.data[r * n + j] = s;
    }
  return out;
}

function sliceAxis(x: T, axis: number, start: number, end: number): T {
  const od = [...x.dims];
  od[axis] = end - start;
  const out = t(od);
  const os = strides(od);
  const is = strides(x.dims);
  for (let i = 0; i < out.data.length; i++) {
    let src = 0;
    for (let k = 0; k < od.length; k++) src += ((Math.floor(i / os[k]!) % od[k]!) + (k === axis ? start : 0)) * is[k]!;
    out.data[i] = x.data[src]!;
  }
  return out;
}

type Env = Map<string, T>;

function run(node: NodeProto, env: Env): T[] {
  const get = (i: number) => {
    const name = node.input[i];
    if (!name) return undefined;
    const v = env.get(name);
    if (!v) throw new Error(`f64: missing ${name}`);
    return v;
  };
  const x = get(0)!;
  const map = (f: (v: number) => number): T => t(x.dims, x.data.map(f));
  switch (node.op_type) {
    case 'Identity':
    case 'Dropout':
      return [x];
    case 'Relu':
      return [map((v) => Math.max(v, 0))];
    case 'LeakyRelu': {
      const a = attrFloat(node, 'alpha', 0.01);
      return [map((v) => (v > 0 ? v : a * v))];
    }
    case 'PRelu':
      return [broadcast(x, get(1)!, (v, s) => (v > 0 ? v : s * v))];
    case 'Clip': {
      const lo = get(1)?.data[0] ?? -Infinity;
      const hi = get(2)?.data[0] ?? Infinity;
      return [map((v) => Math.min(Math.max(v, lo), hi))];
    }
    case 'Add':
      return [broadcast(x, get(1)!, (a, b) => a + b)];
    case 'Sub':
      return [broadcast(x, get(1)!, (a, b) => a - b)];
    case 'Mul':
      return [broadcast(x, get(1)!, (a, b) => a * b)];
    case 'Div':
      return [broadcast(x, get(1)!, (a, b) => a / b)];
    case 'Conv':
      return [conv(x, get(1)!, get(2), node)];
    case 'BatchNormalization': {
      const [s, b, m, v] = [1, 2, 3, 4].map((i) => get(i)!.data);
      const eps = attrFloat(node, 'epsilon', 1e-5);
      const c = x.dims[1]!;
      const inner = size(x.dims.slice(2));
      const out = t(x.dims);
      for (let i = 0; i < x.data.length; i++) {
        const ch = Math.floor(i / inner) % c;
        out.data[i] = ((x.data[i]! - m![ch]!) / Math.sqrt(v![ch]! + eps)) * s![ch]! + b![ch]!;
      }
      return [out];
    }
    case 'MaxPool':
      return [pool(x, node, 'max')];
    case 'AveragePool':
      return [pool(x, node, 'avg')];
    case 'GlobalAveragePool': {
      const [n, c] = x.dims as [number, number];
      const inner = size(x.dims.slice(2));
      const out = t([n, c, ...x.dims.slice(2).map(() => 1)]);
      for (let i = 0; i < n * c; i++) {
        let s = 0;
        for (let j = 0; j < inner; j++) s += x.data[i * inner + j]!;
        out.data[i] = s / inner;
      }
      return [out];
    }
    case 'ReduceMean': {
      const axes = (attrInts(node, 'axes') ?? Array.from(get(1)?.data ?? [])).map((a) => (a < 0 ? a + x.dims.length : a));
      const keep = attrInt(node, 'keepdims', 1) === 1;
      const kd = x.dims.map((d, i) => (axes.includes(i) ? 1 : d));
      const out = t(kd);
      const is = strides(x.dims);
      const ks = strides(kd);
      const count = axes.reduce((p, a) => p * x.dims[a]!, 1);
      for (let i = 0; i < x.data.length; i++) {
        let dst = 0;
        for (let k = 0; k < x.dims.length; k++) dst += (axes.includes(k) ? 0 : Math.floor(i / is[k]!) % x.dims[k]!) * ks[k]!;
        out.data[dst]! += x.data[i]! / count;
      }
      return [
        keep
          ? out
          : t(
              x.dims.filter((_, i) => !axes.includes(i)),
              out.data,
            ),
      ];
    }
    case 'Pad': {
      if (attrString(node, 'mode', 'constant') !== 'constant') throw new Error('f64: only constant Pad');
      const pads = Array.from(get(1)!.data);
      const r = x.dims.length;
      const od = x.dims.map((d, i) => d + pads[i]! + pads[i + r]!);
      const out = t(od);
      const is = strides(x.dims);
      const os = strides(od);
      for (let i = 0; i < x.data.length; i++) {
        let dst = 0;
        for (let k = 0; k < r; k++) dst += ((Math.floor(i / is[k]!) % x.dims[k]!) + pads[k]!) * os[k]!;
        out.data[dst] = x.data[i]!;
      }
      return [out];
    }
    case 'Concat': {
      const axis = (attrInt(node, 'axis', 0) + x.dims.length) % x.dims.length;
      const parts = node.input.map((_, i) => get(i)!);
      const od = [...x.dims];
      od[axis] = parts.reduce((s, p) => s + p.dims[axis]!, 0);
      const out = t(od);
      const os = strides(od);
      let offset = 0;
      for (const p of parts) {
        const ps = strides(p.dims);
        for (let i = 0; i < p.data.length; i++) {
          let dst = 0;
          for (let k = 0; k < od.length; k++) dst += ((Math.floor(i / ps[k]!) % p.dims[k]!) + (k === axis ? offset : 0)) * os[k]!;
          out.data[dst] = p.data[i]!;
        }
        offset += p.dims[axis]!;
      }
      return [out];
    }
    case 'Slice': {
      const starts = Array.from(get(1)!.data);
      const ends = Array.from(get(2)!.data);
      const axes = get(3) ? Array.from(get(3)!.data) : starts.map((_, i) => i);
      let out = x;
      axes.forEach((a0, i) => {
        const a = a0 < 0 ? a0 + x.dims.length : a0;
        const d = out.dims[a]!;
        const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + d : v, 0), d);
        out = sliceAxis(out, a, clamp(starts[i]!), Math.max(clamp(starts[i]!), clamp(ends[i]!)));
      });
      return [out];
    }
    case 'Flatten': {
      const axis = attrInt(node, 'axis', 1);
      return [t([size(x.dims.slice(0, axis)), size(x.dims.slice(axis))], x.data)];
    }
    case 'Reshape': {
      const shape = Array.from(get(1)!.data).map((d, i) => (d === 0 ? x.dims[i]! : d));
      const known = shape.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
      return [
        t(
          shape.map((d) => (d === -1 ? x.data.length / known : d)),
          x.data,
        ),
      ];
    }
    case 'Squeeze': {
      const axes = Array.from(get(1)!.data).map((a) => (a < 0 ? a + x.dims.length : a));
      return [
        t(
          x.dims.filter((_, i) => !axes.includes(i)),
          x.data,
        ),
      ];
    }
    case 'Unsqueeze': {
      const axes = Array.from(get(1)!.data);
      const dims = [...x.dims];
      for (const a of axes.map((a) => (a < 0 ? a + dims.length + axes.length : a)).sort((p, q) => p - q)) dims.splice(a, 0, 1);
      return [t(dims, x.data)];
    }
    case 'Transpose':
      return [transpose(x, attrInts(node, 'perm') ?? x.dims.map((_, i) => x.dims.length - 1 - i))];
    case 'MatMul':
      return [matmul(x, get(1)!)];
    case 'Gemm': {
      const alpha = attrFloat(node, 'alpha', 1);
      const beta = attrFloat(node, 'beta', 1);
      let b = get(1)!;
      if (attrInt(node, 'transB', 0) === 1) b = transpose(b, [1, 0]);
      let y = matmul(x, b);
      y = t(
        y.dims,
        y.data.map((v) => v * alpha),
      );
      const c = get(2);
      if (c) y = broadcast(y, c, (p, q) => p + beta * q);
      return [y];
    }
    default:
      throw new Error(`f64: op ${node.op_type} not implemented`);
  }
}

/** Evaluate the model's single output for input `x` in float64. */
export function evaluate(model: ModelProto, x: T): T {
  const env: Env = new Map();
  for (const init of model.graph.initializer) {
    const v = tensorValues(init);
    env.set(init.name!, { dims: v.dims, data: v.data });
  }
  const inits = new Set(model.graph.initializer.map((i) => i.name));
  env.set(model.graph.input.find((i) => !inits.has(i.name))!.name, x);
  for (const node of model.graph.node) {
    if (node.op_type === 'Constant') {
      const v = tensorValues(node.attribute!.find((a) => a.name === 'value')!.t!);
      env.set(node.output[0]!, { dims: v.dims, data: v.data });
      continue;
    }
    run(node, env).forEach((v, i) => env.set(node.output[i]!, v));
  }
  return env.get(model.graph.output[0]!.name)!;
}

export function normalised(f: Float64Array, mean: Float64Array): Float64Array {
  const d = f.map((v, i) => v - mean[i]!);
  const n = Math.sqrt(d.reduce((s, v) => s + v * v, 0)) + 1e-8;
  return d.map((v) => v / n);
}

/** Central-difference Jacobian of f̂ w.r.t. x: rows = embedding channels, [N][D]. */
export function jacobian(model: ModelProto, x: T, mean: Float64Array, h = 1e-6): Float64Array[] {
  const n = mean.length;
  const rows = Array.from({ length: n }, () => new Float64Array(x.data.length));
  for (let j = 0; j < x.data.length; j++) {
    const xp = t(x.dims, x.data.slice());
    const xm = t(x.dims, x.data.slice());
    xp.data[j]! += h;
    xm.data[j]! -= h;
    const fp = normalised(evaluate(model, xp).data, mean);
    const fm = normalised(evaluate(model, xm).data, mean);
    for (let k = 0; k < n; k++) rows[k]![j] = (fp[k]! - fm[k]!) / (2 * h);
  }
  return rows;
}
