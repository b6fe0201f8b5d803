/**
 * @module bench/fuzz/cases
 * A seeded generator of hostile requests for `npm run fuzz` (and its CI subset in
 * test/e2e/fuzz.test.ts): mutated real JPEG and PNG files (bit flips, truncation at every
 * segment or chunk, wrong lengths, huge declared sizes with tiny bodies, many scans or
 * chunks, a deflate bomb, CMYK, 12-bit, APNG, other formats named .jpg), malformed
 * multipart and JSON bodies, base64 variants, absurd thresholds, bad Range and
 * If-None-Match on maps, path tricks, and oversized headers and URLs. The same seed gives
 * the same cases.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { REPO_ROOT } from '../../eval/lib/faces.js';
import { prng } from '../lib/prng.js';

export { prng };

/** Stands for the id of a result stored before the run (bench/fuzz/run replaces it). */
export const RESULT = '{result}';

export interface FuzzCase {
  /** The class of hostile input, for the report. */
  kind: string;
  name: string;
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: Uint8Array | string;
}

const enc = new TextEncoder();
const concat = (...parts: (Uint8Array | string)[]) => {
  const bytes = parts.map((p) => (typeof p === 'string' ? enc.encode(p) : p));
  const out = new Uint8Array(bytes.reduce((n, b) => n + b.length, 0));
  let o = 0;
  for (const b of bytes) {
    out.set(b, o);
    o += b.length;
  }
  return out;
};

/** A multipart/form-data body with raw parts (so malformed ones can be made). */
export function multipart(parts: { name: string; filename?: string; type?: string; data: Uint8Array | string }[], boundary = 'xfvfuzz') {
  const body = concat(
    ...parts.flatMap((p) => [
      `--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"${p.filename ? `; filename="${p.filename}"` : ''}\r\n`,
      p.type ? `Content-Type: ${p.type}\r\n` : '',
      '\r\n',
      p.data,
      '\r\n',
    ]),
    `--${boundary}--\r\n`,
  );
  return { body, headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
}

/** JPEG segments: [offset, marker, length] up to the start of scan data. */
function jpegSegments(jpeg: Uint8Array): { at: number; marker: number; length: number }[] {
  const out: { at: number; marker: number; length: number }[] = [];
  let i = 2;
  while (i + 4 <= jpeg.length && jpeg[i] === 0xff) {
    const marker = jpeg[i + 1]!;
    const length = (jpeg[i + 2]! << 8) | jpeg[i + 3]!;
    out.push({ at: i, marker, length });
    if (marker === 0xda) break;
    i += 2 + length;
  }
  return out;
}

/** PNG chunks: [offset, type, length]. */
function pngChunks(png: Uint8Array): { at: number; type: string; length: number }[] {
  const out: { at: number; type: string; length: number }[] = [];
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  for (let i = 8; i + 8 <= png.length; ) {
    const length = view.getUint32(i);
    out.push({ at: i, type: String.fromCharCode(...png.subarray(i + 4, i + 8)), length });
    i += 12 + length;
  }
  return out;
}

function crc32(bytes: Uint8Array): number {
  let c = ~0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

function pngChunk(type: string, data: Uint8Array): Uint8Array {
  const head = new Uint8Array(8);
  new DataView(head.buffer).setUint32(0, data.length);
  head.set(enc.encode(type), 4);
  const crc = new Uint8Array(4);
  new DataView(crc.buffer).setUint32(0, crc32(concat(enc.encode(type), data)));
  return concat(head, data, crc);
}

/** A PNG with an RGB8 header of `width`×`height` and `idat` as its (compressed) image data. */
export function pngOf(width: number, height: number, idat: Uint8Array, extra: Uint8Array[] = []): Uint8Array {
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, width);
  v.setUint32(4, height);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return concat(
    new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]),
    pngChunk('IHDR', ihdr),
    ...extra,
    pngChunk('IDAT', idat),
    pngChunk('IEND', new Uint8Array()),
  );
}

export interface FuzzInputs {
  jpeg: Uint8Array;
  png: Uint8Array;
  cmyk: Uint8Array;
  progressive: Uint8Array;
  gif: Uint8Array;
  webp: Uint8Array;
  tiff: Uint8Array;
}

/** The real files the mutations start from (a development photo and an aligned crop), and other encodings of them. */
export async function fuzzInputs(): Promise<FuzzInputs> {
  const shared = join(REPO_ROOT, '..', 'shared', 'faces');
  const jpeg = new Uint8Array(readFileSync(join(shared, 'photos', 'single', 'clapton_2.jpg')));
  const png = new Uint8Array(readFileSync(join(shared, 'bbt', 'amy', 'amy1.png')));
  const img = () => sharp(png);
  return {
    jpeg,
    png,
    cmyk: new Uint8Array(await img().toColourspace('cmyk').jpeg().toBuffer()),
    progressive: new Uint8Array(await img().jpeg({ progressive: true }).toBuffer()),
    gif: new Uint8Array(await img().gif().toBuffer()),
    webp: new Uint8Array(await img().webp().toBuffer()),
    tiff: new Uint8Array(await img().tiff().toBuffer()),
  };
}

/**
 * Every hostile case for a seed; `flips` sets how many bit-flipped JPEGs (and half as many
 * PNGs) there are. The flipped files go as aligned crops (decoded, not searched for faces:
 * the decoder is what they attack, and it keeps the run short); the rest as photos.
 */
export function fuzzCases(inputs: FuzzInputs, seed: number, { flips = 210 }: { flips?: number } = {}): FuzzCase[] {
  const rand = prng(seed);
  const int = (n: number) => Math.floor(rand() * n);
  const cases: FuzzCase[] = [];
  const verifyWith = (kind: string, name: string, a: Uint8Array, filename = 'a.jpg', extra: Record<string, string> = {}) => {
    const { body, headers } = multipart([
      { name: 'a', filename, type: 'image/jpeg', data: a },
      { name: 'b', filename: 'b.png', type: 'image/png', data: inputs.png },
      ...Object.entries(extra).map(([name, data]) => ({ name, data })),
    ]);
    cases.push({ kind, name, method: 'POST', path: '/v1/verify', headers, body });
  };
  const { jpeg, png } = inputs;
  const CROP = { input: 'aligned-crop' };

  // --- JPEG ---
  for (let i = 0; i < flips; i++) {
    const m = Uint8Array.from(jpeg);
    const n = 1 + int(16);
    for (let k = 0; k < n; k++) m[int(m.length)]! ^= 1 << int(8);
    verifyWith('jpeg: bit flips', `flip ${n} bits #${i}`, m, 'a.jpg', CROP);
  }
  const segments = jpegSegments(jpeg);
  for (const s of segments) {
    for (const cut of [s.at, s.at + 2, s.at + 4 + int(Math.max(1, s.length - 2))])
      verifyWith('jpeg: truncated', `cut at ${cut} (segment ff${s.marker.toString(16)})`, jpeg.subarray(0, cut));
    for (const length of [0, 1, 2, 0xffff, s.length + 7]) {
      const m = Uint8Array.from(jpeg);
      m[s.at + 2] = length >> 8;
      m[s.at + 3] = length & 0xff;
      verifyWith('jpeg: wrong segment length', `ff${s.marker.toString(16)} length ${length}`, m);
    }
  }
  const sof = segments.find((s) => s.marker >= 0xc0 && s.marker <= 0xc2)!;
  for (const [h, w] of [
    [65535, 65535],
    [0, 0],
    [1, 65535],
    [40000, 40000],
    [5000, 5000],
  ] as const) {
    const m = jpeg.slice(0, sof.at + 2 + sof.length + 64);
    m.set([h >> 8, h & 0xff, w >> 8, w & 0xff], sof.at + 5);
    verifyWith('jpeg: huge SOF, tiny body', `${w}×${h}`, m);
  }
  {
    const m = Uint8Array.from(jpeg);
    m[sof.at + 4] = 12; // sample precision
    verifyWith('jpeg: 12-bit', 'precision 12 in SOF', m);
  }
  verifyWith('jpeg: CMYK', 'CMYK JPEG', inputs.cmyk);
  {
    // Thousands of (empty) progressive scans before the end.
    const p = inputs.progressive;
    const sos = jpegSegments(p).find((s) => s.marker === 0xda)!;
    const scan = p.subarray(sos.at, sos.at + 2 + sos.length);
    const scans = Array.from({ length: 3000 }, () => scan);
    verifyWith('jpeg: many scans', '3000 progressive scans', concat(p.subarray(0, p.length - 2), ...scans, new Uint8Array([0xff, 0xd9])));
  }

  // --- PNG ---
  for (let i = 0; i < Math.round(flips / 2); i++) {
    const m = Uint8Array.from(png);
    const n = 1 + int(16);
    for (let k = 0; k < n; k++) m[8 + int(m.length - 8)]! ^= 1 << int(8);
    verifyWith('png: bit flips', `flip ${n} bits #${i}`, m, 'a.png', CROP);
  }
  for (const c of pngChunks(png)) {
    for (const cut of [c.at, c.at + 8, c.at + 8 + Math.floor(c.length / 2)])
      verifyWith('png: truncated', `cut at ${cut} (chunk ${c.type})`, png.subarray(0, cut), 'a.png');
    const m = Uint8Array.from(png);
    new DataView(m.buffer).setUint32(c.at, 0x7fffffff);
    verifyWith('png: wrong chunk length', `${c.type} length 2^31−1`, m, 'a.png');
  }
  for (const [w, h] of [
    [100000, 100000],
    [1, 100_000_000],
    [0, 10],
    [9000, 9000],
  ] as const)
    verifyWith('png: huge IHDR, tiny body', `${w}×${h}`, pngOf(w, h, deflateSync(new Uint8Array(16))), 'a.png');
  // Deflate bombs: a tiny IDAT that inflates to hundreds of MB (declared within the pixel cap, and over it).
  const zeros = deflateSync(new Uint8Array(64 * 1024 * 1024), { level: 9 });
  verifyWith('png: deflate bomb', `9000×9000 with ${zeros.length} B of IDAT (64 MiB inflated)`, pngOf(9000, 9000, zeros), 'a.png');
  verifyWith('png: deflate bomb', `1400×1400 with ${zeros.length} B of IDAT (64 MiB inflated)`, pngOf(1400, 1400, zeros), 'a.png');
  {
    const text = pngChunk('tEXt', enc.encode('k\0v'));
    const ihdrEnd = 8 + 12 + 13;
    verifyWith(
      'png: absurd chunk count',
      '20000 tEXt chunks',
      concat(png.subarray(0, ihdrEnd), ...Array.from({ length: 20000 }, () => text), png.subarray(ihdrEnd)),
      'a.png',
    );
  }
  {
    const actl = new Uint8Array(8);
    new DataView(actl.buffer).setUint32(0, 2);
    const ihdrEnd = 8 + 12 + 13;
    verifyWith(
      'png: APNG',
      'acTL chunk (animated)',
      concat(png.subarray(0, ihdrEnd), pngChunk('acTL', actl), png.subarray(ihdrEnd)),
      'a.png',
    );
  }

  // --- other formats named .jpg ---
  for (const [name, bytes] of [
    ['GIF', inputs.gif],
    ['WebP', inputs.webp],
    ['TIFF', inputs.tiff],
    ['SVG', enc.encode('<svg xmlns="http://www.w3.org/2000/svg" width="99999" height="99999"><circle r="9"/></svg>')],
    ['HTML', enc.encode('<!doctype html><script>alert(1)</script>')],
    ['empty', new Uint8Array()],
    ['one byte', new Uint8Array([0xff])],
    ['JPEG magic only', new Uint8Array([0xff, 0xd8, 0xff])],
    ['PNG magic only', new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10])],
    ['random bytes', Uint8Array.from({ length: 4096 }, () => int(256))],
  ] as const)
    verifyWith('other format named .jpg', name, bytes);

  // --- thresholds and options ---
  for (const t of ['NaN', 'Infinity', '-Infinity', '1e309', '2', '-1.0001', '0x1', '', ' ', 'abc', '1,5', '9'.repeat(5000)])
    verifyWith('absurd threshold', JSON.stringify(t.slice(0, 20)), jpeg, 'a.jpg', { threshold: t });
  for (const [k, v] of [
    ['input', 'svg'],
    ['faceA', '-1'],
    ['faceA', '999999'],
    ['faceA', '1e9,1e9'],
    ['faceA', 'x'.repeat(10000)],
  ] as const)
    verifyWith('absurd option', `${k}=${v.slice(0, 20)}`, jpeg, 'a.jpg', { [k]: v });

  // --- multipart ---
  const mp = (name: string, body: Uint8Array | string, contentType: string, path = '/v1/verify') =>
    cases.push({ kind: 'malformed multipart', name, method: 'POST', path, headers: { 'content-type': contentType }, body });
  const good = multipart([
    { name: 'a', filename: 'a.jpg', type: 'image/jpeg', data: jpeg },
    { name: 'b', filename: 'b.png', type: 'image/png', data: png },
  ]);
  mp('no boundary parameter', good.body, 'multipart/form-data');
  mp('wrong boundary', good.body, 'multipart/form-data; boundary=other');
  mp('no closing boundary', good.body.subarray(0, good.body.length - 12), good.headers['content-type']);
  mp('empty body', '', good.headers['content-type']);
  mp('body cut in the first part', good.body.subarray(0, 200), good.headers['content-type']);
  mp('CRLF only', '\r\n\r\n\r\n', good.headers['content-type']);
  {
    const inner = multipart([{ name: 'a', filename: 'a.jpg', data: jpeg }], 'inner');
    const nested = multipart([
      { name: 'a', type: 'multipart/mixed; boundary=inner', data: inner.body },
      { name: 'b', filename: 'b.png', data: png },
    ]);
    mp('nested multipart', nested.body, nested.headers['content-type']);
  }
  {
    const dup = multipart([
      { name: 'a', filename: 'a.jpg', data: jpeg },
      { name: 'a', filename: 'a2.jpg', data: jpeg },
      { name: 'b', filename: 'b.png', data: png },
      { name: 'threshold', data: '0.5' },
      { name: 'threshold', data: '0.7' },
    ]);
    mp('duplicate fields', dup.body, dup.headers['content-type']);
  }
  {
    const many = multipart(Array.from({ length: 10000 }, (_, i) => ({ name: `f${i}`, data: 'x' })));
    mp('10000 parts', many.body, many.headers['content-type']);
  }
  {
    const giant = multipart([
      { name: 'n'.repeat(100000), data: 'x' },
      { name: 'a', filename: 'a.jpg', data: jpeg },
    ]);
    mp('giant field name', giant.body, giant.headers['content-type']);
  }
  mp(
    'text instead of a file',
    multipart([
      { name: 'a', data: 'hello' },
      { name: 'b', data: 'world' },
    ]).body,
    good.headers['content-type'],
  );
  mp(
    'multipart to the explain route, fields only',
    multipart([{ name: 'method', data: 'fggb' }]).body,
    good.headers['content-type'],
    '/v1/explain',
  );
  mp('declared text/plain', good.body, 'text/plain');
  mp('declared image/jpeg', jpeg, 'image/jpeg');

  // --- JSON ---
  const json = (name: string, body: string, path = '/v1/verify') =>
    cases.push({ kind: 'malformed JSON', name, method: 'POST', path, headers: { 'content-type': 'application/json' }, body });
  const b64 = Buffer.from(png).toString('base64');
  json('deep nesting', `${'['.repeat(100000)}${']'.repeat(100000)}`);
  json('deep object nesting', `${'{"a":'.repeat(50000)}1${'}'.repeat(50000)}`);
  json('huge string', JSON.stringify({ a: { base64: 'A'.repeat(20_000_000) }, b: { base64: b64 } }));
  json('wrong types', JSON.stringify({ a: 1, b: [true], threshold: 'high' }));
  json('NaN literal', `{"a":{"base64":"${b64}"},"b":{"base64":"${b64}"},"threshold":NaN}`);
  json('Infinity literal', `{"a":{"base64":"${b64}"},"b":{"base64":"${b64}"},"threshold":Infinity}`);
  json('duplicate keys', `{"a":{"base64":"${b64}"},"a":{"base64":"AAAA"},"b":{"base64":"${b64}"}}`);
  json('truncated', `{"a":{"base64":"${b64.slice(0, 100)}`);
  json('not an object', '"just a string"');
  json('null', 'null');
  json('BOM first', `\ufeff{"a":{"base64":"${b64}"},"b":{"base64":"${b64}"}}`);
  json('lone surrogate', `{"a":{"base64":"\\ud800"},"b":{"base64":"${b64}"}}`);
  json(
    'proto pollution',
    `{"__proto__":{"admin":true},"constructor":{"prototype":{"x":1}},"a":{"base64":"${b64}"},"b":{"base64":"${b64}"}}`,
  );
  json('explain: maps not an array', JSON.stringify({ a: { base64: b64 }, b: { base64: b64 }, maps: 'all' }), '/v1/explain');
  json('explain: unknown method', JSON.stringify({ a: { base64: b64 }, b: { base64: b64 }, method: 'lime' }), '/v1/explain');
  for (const [name, value] of [
    ['url-safe alphabet', Buffer.from(png).toString('base64url')],
    ['whitespace inside', b64.replace(/(.{76})/g, '$1\n')],
    ['missing padding', b64.replace(/=+$/, '')],
    ['extra padding', `${b64}====`],
    ['data: URI prefix', `data:image/png;base64,${b64}`],
    ['non-base64 characters', `${b64.slice(0, 50)}!!**${b64.slice(50)}`],
    ['base64 of nothing', ''],
    ['base64 of a JPEG cut short', Buffer.from(jpeg.subarray(0, 300)).toString('base64')],
  ] as const)
    cases.push({
      kind: 'base64 variants',
      name,
      method: 'POST',
      path: '/v1/verify',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ a: { base64: value }, b: { base64: b64 } }),
    });

  // --- maps: Range, If-None-Match, path tricks (RESULT is replaced by a stored result's id) ---
  const mapPath = `/v1/maps/${RESULT}/a/similarity.f32`;
  for (const range of [
    'bytes=abc',
    'bytes=5-1',
    'bytes=0-0,5-9',
    'bytes=-0',
    'bytes=99999999999999999999-',
    'items=0-5',
    'bytes=',
    `bytes=${'1'.repeat(5000)}-`,
  ])
    cases.push({ kind: 'bad Range on maps', name: range.slice(0, 30), method: 'GET', path: mapPath, headers: { range: range } });
  for (const inm of ['*', 'garbage', `"${'x'.repeat(6000)}"`, 'W/', '"a", "b", '.repeat(300)])
    cases.push({
      kind: 'bad If-None-Match on maps',
      name: inm.slice(0, 30),
      method: 'GET',
      path: mapPath,
      headers: { 'if-none-match': inm },
    });
  for (const p of [
    '/v1/maps/../../models/manifest.json',
    '/v1/maps/%2e%2e/%2e%2e/models/manifest.json',
    `/v1/maps/${RESULT}/a/..%2f..%2fresult.bin`,
    `/v1/maps/${RESULT}/a/similarity.f32%00.png`,
    `/v1/maps/${RESULT}//similarity.png`,
    `/v1/maps/${RESULT.toUpperCase()}/a/similarity.png`,
    `/v1/maps/${RESULT}/c/similarity.png`,
    `/v1/maps/${RESULT}/a/similarity.exe`,
    `/v1/maps/${RESULT}/a/p.f32`,
    '/v1/maps/%ff%fe/a/p.f32',
    `/v1/maps/${RESULT}/a/similarity.png?tenant=../../x&expires=1&signature=${'A'.repeat(43)}`,
    '/v1/maps/',
    '/v1/results/..%2f..%2fmodels',
  ])
    cases.push({ kind: 'path tricks', name: p.slice(0, 60), method: p.startsWith('/v1/results') ? 'DELETE' : 'GET', path: p });

  // --- headers and URL ---
  cases.push({
    kind: 'oversized headers',
    name: 'one 12 KiB header',
    method: 'GET',
    path: '/healthz',
    headers: { 'x-big': 'b'.repeat(12 * 1024) },
  });
  cases.push({
    kind: 'oversized headers',
    name: '100 headers of 300 B',
    method: 'GET',
    path: '/v1/models',
    headers: Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`x-h${i}`, 'h'.repeat(300)])),
  });
  cases.push({
    kind: 'oversized headers',
    name: 'Authorization of 9 KiB',
    method: 'GET',
    path: '/v1/usage',
    headers: { authorization: `Bearer ${'k'.repeat(9 * 1024)}` },
  });
  cases.push({ kind: 'oversized URL', name: '16 KiB query', method: 'GET', path: `/v1/models?q=${'q'.repeat(16 * 1024)}` });
  cases.push({ kind: 'oversized URL', name: '9 KiB path', method: 'GET', path: `/v1/${'p'.repeat(9 * 1024)}` });
  return cases;
}
