/**
 * The demo page (served at / by the Worker's static assets; bundled by web/build.ts): two
 * photos in, the decision against θ on a gauge, the detected faces, and the similarity and
 * dissimilarity maps of both faces, on the aligned face and on the photo. The explanation
 * runs as a job (POST /v1/jobs, polled) so its progress shows while new bases compute.
 * Moving the θ slider redraws the decision and the face maps in the browser from FGGB's
 * P and Q (S(θ) = P − (θ/N)·Q) with the engine's own display code (blur, min–max, overlay),
 * without a call. All requests go through @xfv/client.
 */
import {
  type ExplainOptions,
  type ExplainResult,
  type Job,
  type VerifyResult,
  type XfvClient,
  XfvProblem,
  createXfvClient,
} from '@xfv/client';
import { overlayRgb } from '../../src/image/overlay.js';
import { gaussianBlur, minMax } from '../../src/xfv/display.js';
import { affineMap, splitSigned } from '../../src/xfv/fggb.js';

type Side = 'a' | 'b';
type Kind = 'similarity' | 'dissimilarity';
const SIDES: Side[] = ['a', 'b'];
const KINDS: Kind[] = ['similarity', 'dissimilarity'];
const KEY_STORAGE = 'xfv-demo-key';
/** The faithfulness table's name for each method as the page runs it. */
const METHODS = [
  { label: 'FGGB (served default)', method: 'fggb', figures: 'fggb-centred-smooth' },
  { label: 'xSSAB', method: 'xssab', figures: 'xssab' },
  { label: 'Gradient', method: 'gradient', figures: 'gradient' },
] as const;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

interface FaceParts {
  p: Float32Array;
  q: Float32Array;
  /** RGB8 face, size×size. */
  face: Uint8Array;
}

/** xfv/display's displayMap, skipping the blur of an all-zero map (min–max makes it zeros anyway). */
function displayOf(map: Float32Array, size: number): Float32Array {
  return map.some((v) => v !== 0) ? minMax(gaussianBlur(map, size, size)) : new Float32Array(map.length);
}

const state: {
  files: Partial<Record<Side, File>>;
  verify?: VerifyResult;
  explanation?: ExplainResult;
  parts?: Record<Side, FaceParts>;
  size: number;
  /** The θ drawn: the served one exactly until the slider (steps of 0.001) moves. */
  theta: number;
  /** θ of the maps minus θ of the decision (the same for every θ; see the API's explanation.threshold). */
  offset: number;
  frame?: number;
} = { files: {}, size: 150, offset: 0, theta: 0 };

function client(): XfvClient {
  return createXfvClient({ baseUrl: location.origin, apiKey: $<HTMLInputElement>('key').value.trim() });
}

function status(text: string, busy = false): void {
  $('status').textContent = text;
  $('progress').hidden = !busy;
}

function problemText(e: unknown): string {
  if (e instanceof XfvProblem) return `${e.problem.title ?? 'Error'}: ${e.problem.detail ?? ''}`;
  return e instanceof Error ? e.message : String(e);
}

// --- photos ---------------------------------------------------------------------------

async function choose(side: Side, file: File | undefined): Promise<void> {
  if (!file) return;
  state.files[side] = file;
  const bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
  photoBitmaps[side] = bitmap;
  drawPhoto(side);
  $(`photo-${side}`).setAttribute('aria-label', `Photo ${side.toUpperCase()}: ${file.name}`);
  resetResult();
  updateCompare();
}

const photoBitmaps: Partial<Record<Side, ImageBitmap>> = {};

/** The photo (upright, at most 900 px) and, after a verify, its faces: the used one in colour. */
function drawPhoto(side: Side): void {
  const bitmap = photoBitmaps[side];
  if (!bitmap) return;
  const canvas = $<HTMLCanvasElement>(`photo-${side}`);
  const scale = Math.min(1, 900 / Math.max(bitmap.width, bitmap.height));
  canvas.width = Math.round(bitmap.width * scale);
  canvas.height = Math.round(bitmap.height * scale);
  const ctx = canvas.getContext('2d')!;
  ctx.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  const report = state.verify?.images[side];
  if (!report?.faces) return;
  ctx.lineWidth = Math.max(2, canvas.width / 200);
  report.faces.forEach((f, i) => {
    ctx.strokeStyle = i === report.face ? '#00e676' : '#ffffffaa';
    ctx.strokeRect(f.box.x * scale, f.box.y * scale, f.box.width * scale, f.box.height * scale);
  });
}

function updateCompare(): void {
  const ready = state.files.a && state.files.b && $<HTMLInputElement>('key').value.trim();
  $<HTMLButtonElement>('compare').disabled = !ready;
  $('key-hint').hidden = Boolean($<HTMLInputElement>('key').value.trim());
}

function resetResult(): void {
  state.verify = undefined;
  state.explanation = undefined;
  state.parts = undefined;
  $('result').hidden = true;
  $('photo-maps').replaceChildren();
  $('methods-grid').replaceChildren();
}

// --- compare: verify, then explain as a job -------------------------------------------

async function compare(): Promise<void> {
  const { a, b } = state.files;
  if (!a || !b) return;
  const api = client();
  $<HTMLButtonElement>('compare').disabled = true;
  resetResult();
  try {
    status('Finding the faces and comparing…', true);
    state.verify = await api.verify(a, b);
    SIDES.forEach(drawPhoto);
    setTheta(state.verify.threshold);
    $('result').hidden = false;
    redraw();
    const warnings = SIDES.flatMap((s) => state.verify!.images[s].warnings.map((w) => `${s.toUpperCase()}: ${w}`));
    await explain(api, a, b, warnings);
  } catch (e) {
    status(problemText(e));
  } finally {
    $<HTMLButtonElement>('compare').disabled = false;
  }
}

/**
 * An explanation run as a job (the queue retries it while the service is busy), polled
 * until done; a key without the jobs scope explains in one call instead.
 */
async function explainAsJob(
  api: XfvClient,
  a: File,
  b: File,
  options: ExplainOptions,
  onProgress: (job: Job) => void,
): Promise<ExplainResult> {
  try {
    const job = await api.createJob(a, b, options);
    return await api.waitForJob(job.id, { intervalMs: 1000, onProgress });
  } catch (e) {
    if (!(e instanceof XfvProblem && e.kind === 'forbidden')) throw e;
    return api.explain(a, b, options);
  }
}

async function explain(api: XfvClient, a: File, b: File, warnings: string[]): Promise<void> {
  const started = Date.now();
  const note = warnings.length ? ` (${warnings.join('; ')})` : '';
  let phase = 'Explaining: queued';
  const tick = (what = phase) => {
    phase = what;
    status(`${what} — ${Math.round((Date.now() - started) / 1000)} s${note}`, true);
  };
  tick();
  const timer = setInterval(() => tick(), 1000);
  try {
    const result = await explainAsJob(api, a, b, {}, (j) =>
      tick(
        j.status === 'running'
          ? 'Explaining: computing the maps (a new face takes a while once; then it is cached)'
          : `Explaining: ${j.status}`,
      ),
    );
    tick('Loading the maps');
    state.explanation = result;
    state.offset = result.explanation.threshold - result.threshold;
    await loadParts(api, result);
    showPhotoMaps(result);
    showVerdicts(result);
    redraw();
    status(`Explained in ${Math.round((Date.now() - started) / 1000)} s${note}.`);
  } finally {
    clearInterval(timer);
  }
}

/** P, Q and the face of each image (FGGB answers carry P and Q; other methods do not). */
async function loadParts(api: XfvClient, result: ExplainResult): Promise<void> {
  const affine = result.affine;
  if (!affine) return;
  const faceOf = async (link: string) => {
    // The face file sits beside P; a path without the link's signature is read with the key.
    const path = new URL(link).pathname.replace(/\/p\.f32$/, '/face.png');
    const bitmap = await createImageBitmap(new Blob([new Uint8Array(await api.mapBytes(path))]));
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const ctx = canvas.getContext('2d')!;
    ctx.drawImage(bitmap, 0, 0);
    const rgba = ctx.getImageData(0, 0, bitmap.width, bitmap.height).data;
    state.size = bitmap.width;
    return Uint8Array.from({ length: (rgba.length / 4) * 3 }, (_, i) => rgba[Math.floor(i / 3) * 4 + (i % 3)]!);
  };
  const load = async (side: Side): Promise<FaceParts> => {
    const [p, q, face] = await Promise.all([api.mapValues(affine[side].p), api.mapValues(affine[side].q), faceOf(affine[side].p)]);
    return { p, q, face };
  };
  const [a, b] = await Promise.all([load('a'), load('b')]);
  state.parts = { a, b };
}

/** What the service says about these maps: whether their method was measured to explain a pair. */
function showVerdicts(result: ExplainResult): void {
  const text = (kind: Kind) => {
    const v = result.explanation.faithfulness[kind];
    if (v.verdict === 'explains-pair') return `${kind} maps: measured to explain the pair`;
    if (v.verdict === 'not-measured') return `${kind} maps: not measured`;
    const d = v.evidence?.deletion;
    return `${kind} maps: not shown to explain the pair: on the development photos they did no better than maps that ignore the pair${d ? ` (Deletion margin ${d.margin})` : ''}; read them as where the model looks on faces in general`;
  };
  const out = $('map-verdicts');
  out.dataset.similarity = result.explanation.faithfulness.similarity.verdict;
  out.dataset.dissimilarity = result.explanation.faithfulness.dissimilarity.verdict;
  out.textContent = `${text('similarity')}. ${text('dissimilarity')}.`;
}

function showPhotoMaps(result: ExplainResult): void {
  const figures = SIDES.flatMap((side) =>
    KINDS.flatMap((kind) => {
      const link = result.maps[side]?.[kind]?.['photo-overlay.png'];
      if (!link) return [];
      const figure = document.createElement('figure');
      const img = document.createElement('img');
      img.src = link;
      img.alt = `${kind} map of face ${side.toUpperCase()} laid on photo ${side.toUpperCase()}`;
      img.id = `photo-map-${side}-${kind}`;
      const caption = document.createElement('figcaption');
      caption.textContent = `${side.toUpperCase()} · ${kind}`;
      figure.append(img, caption);
      return [figure];
    }),
  );
  $('photo-maps').replaceChildren(...figures);
}

// --- θ: the decision and the maps, redrawn in the browser -----------------------------

/** Draw at exactly θ (the slider shows it rounded to its step). */
function setTheta(θ: number): void {
  state.theta = θ;
  $<HTMLInputElement>('theta').value = String(θ);
}

function scheduleRedraw(): void {
  if (state.frame !== undefined) return;
  state.frame = requestAnimationFrame(() => {
    state.frame = undefined;
    redraw();
  });
}

/** The decision, the gauge and (once P and Q are here) the four face maps at the slider's θ. */
function redraw(): void {
  const verify = state.verify;
  if (!verify) return;
  const t0 = performance.now();
  const θ = state.theta;
  const decision = verify.similarity >= θ ? 'accept' : 'reject';
  const heading = $('decision');
  heading.dataset.decision = decision;
  heading.dataset.similarity = String(verify.similarity);
  heading.textContent = `${decision === 'accept' ? 'Same person' : 'Different people'} — similarity ${verify.similarity.toFixed(3)} ${decision === 'accept' ? '≥' : '<'} θ ${θ.toFixed(3)}`;
  $('theta-value').textContent = θ.toFixed(4);
  const at = (v: number) => `${Math.max(0, Math.min(1, v)) * 100}%`;
  $('gauge-theta').style.left = at(θ);
  $('gauge-similarity').style.left = at(verify.similarity);
  $('gauge').setAttribute('aria-label', `similarity ${verify.similarity.toFixed(3)} against threshold ${θ.toFixed(3)}`);
  const parts = state.parts;
  if (!parts || !state.explanation?.affine) return;
  const { size } = state;
  const channels = state.explanation.affine.channels;
  for (const side of SIDES) {
    const { p, q, face } = parts[side];
    // The server's display map: minMax(blur(max(±S, 0))). (blur(S⁻) = blur(S⁺) − blur(S) would
    // save a blur, but where S⁻ is all but zero it min–maxes rounding noise into a full map.)
    const maps = splitSigned(affineMap({ p, q, channels }, θ + state.offset));
    const display = {
      similarity: displayOf(maps.similarity, size),
      dissimilarity: displayOf(maps.dissimilarity, size),
    };
    for (const kind of KINDS) {
      const rgb = overlayRgb(display[kind], face, size, size);
      const rgba = new ImageData(size, size);
      for (let i = 0; i < size * size; i++) {
        rgba.data[i * 4] = rgb[i * 3]!;
        rgba.data[i * 4 + 1] = rgb[i * 3 + 1]!;
        rgba.data[i * 4 + 2] = rgb[i * 3 + 2]!;
        rgba.data[i * 4 + 3] = 255;
      }
      const canvas = $<HTMLCanvasElement>(`map-${side}-${kind}`);
      // The server's rendering of this map at the served θ, for comparison (and the tests).
      canvas.dataset.serverOverlay = state.explanation.maps[side]?.[kind]?.['overlay.png'] ?? '';
      canvas.width = size;
      canvas.height = size;
      canvas.getContext('2d')!.putImageData(rgba, 0, 0);
    }
  }
  const ms = performance.now() - t0;
  const out = $('redraw-ms');
  out.dataset.ms = ms.toFixed(2);
  out.textContent = `Redrawn in ${ms.toFixed(1)} ms.`;
}

// --- other methods --------------------------------------------------------------------

async function compareMethods(): Promise<void> {
  const { a, b } = state.files;
  const base = state.explanation;
  if (!a || !b || !base) return;
  const api = client();
  const button = $<HTMLButtonElement>('methods');
  button.disabled = true;
  const faithfulness = (await (await fetch('/faithfulness.json')).json()) as {
    measure: string;
    figures: Record<string, { deletion: number; insertion: number }>;
  };
  try {
    const cards: HTMLElement[] = [];
    for (const { label, method, figures } of METHODS) {
      status(`Explaining with ${label}…`, true);
      const result =
        method === 'fggb'
          ? base
          : await explainAsJob(api, a, b, { method, maps: ['a.similarity', 'b.similarity'] }, (j) =>
              status(`Explaining with ${label}: ${j.status}…`, true),
            );
      const figure = document.createElement('figure');
      figure.dataset.method = method;
      const faces = document.createElement('div');
      faces.className = 'faces';
      for (const side of SIDES) {
        const img = document.createElement('img');
        img.src = result.maps[side]?.similarity?.['overlay.png'] ?? '';
        img.alt = `${label}: similarity map of face ${side.toUpperCase()}`;
        faces.append(img);
      }
      const f = faithfulness.figures[figures];
      const caption = document.createElement('figcaption');
      caption.textContent = f
        ? `${label}: ${(f.insertion - f.deletion).toFixed(1)} (Insertion ${f.insertion} − Deletion ${f.deletion})`
        : label;
      figure.append(faces, caption);
      cards.push(figure);
      $('methods-grid').replaceChildren(...cards);
    }
    status('Methods compared.');
  } catch (e) {
    status(problemText(e));
  } finally {
    button.disabled = false;
  }
}

// --- wiring ---------------------------------------------------------------------------

function init(): void {
  const key = $<HTMLInputElement>('key');
  // npm start prints http://127.0.0.1:8787/#key=…: the key comes in the fragment (never sent
  // to the server), is kept in this browser, and is taken out of the address bar.
  const fromHash = new URLSearchParams(location.hash.slice(1)).get('key');
  if (fromHash) {
    localStorage.setItem(KEY_STORAGE, fromHash);
    history.replaceState(null, '', location.pathname);
  }
  key.value = localStorage.getItem(KEY_STORAGE) ?? '';
  key.addEventListener('input', () => {
    localStorage.setItem(KEY_STORAGE, key.value.trim());
    updateCompare();
  });
  for (const side of SIDES) {
    for (const id of [`file-${side}`, `camera-${side}`]) {
      $<HTMLInputElement>(id).addEventListener('change', (e) => void choose(side, (e.target as HTMLInputElement).files?.[0]));
    }
    const slot = $(`slot-${side}`);
    slot.addEventListener('dragover', (e) => {
      e.preventDefault();
      slot.classList.add('dragging');
    });
    slot.addEventListener('dragleave', () => slot.classList.remove('dragging'));
    slot.addEventListener('drop', (e) => {
      e.preventDefault();
      slot.classList.remove('dragging');
      void choose(side, e.dataTransfer?.files[0]);
    });
  }
  $('compare').addEventListener('click', () => void compare());
  $('theta').addEventListener('input', () => {
    state.theta = Number($<HTMLInputElement>('theta').value);
    scheduleRedraw();
  });
  $('theta-reset').addEventListener('click', () => {
    if (!state.verify) return;
    setTheta(state.verify.threshold);
    redraw();
  });
  $('methods').addEventListener('click', () => void compareMethods());
  void fetch('/faithfulness.json')
    .then((r) => r.json())
    .then((f: { measure: string }) => {
      $('faithfulness-measure').textContent = f.measure;
    });
  updateCompare();
}

init();
