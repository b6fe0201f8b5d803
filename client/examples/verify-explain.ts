/**
 * @xfv/client example: verify two photos, explain the decision, and redraw the similarity
 * map of photo A for another θ from P and Q. Against `npm start`:
 *   XFV_URL=http://127.0.0.1:8787 XFV_KEY=$(cat .wrangler/dev-key.txt) \
 *     npx tsx client/examples/verify-explain.ts photo-a.jpg photo-b.jpg
 * Prints one JSON line (the tests run it and read it).
 */
import { readFileSync } from 'node:fs';
import { createXfvClient, XfvProblem } from '@xfv/client';

const [pathA, pathB] = process.argv.slice(2);
if (!pathA || !pathB) throw new Error('usage: verify-explain.ts <photo A> <photo B>');
const xfv = createXfvClient({ baseUrl: process.env.XFV_URL ?? 'http://127.0.0.1:8787', apiKey: process.env.XFV_KEY ?? '' });
const a = readFileSync(pathA);
const b = readFileSync(pathB);

try {
  const verdict = await xfv.verify(a, b);
  const explained = await xfv.explain(a, b);
  const overlay = await xfv.mapBytes(explained.maps.a!.similarity!['overlay.png']);
  // FGGB's maps for any θ, without another call: S(θ) = P − (θ/N)·Q, similarity = max(S, 0).
  const affine = explained.affine!;
  const [p, q] = await Promise.all([xfv.mapValues(affine.a.p), xfv.mapValues(affine.a.q)]);
  const θ = explained.explanation.threshold + 0.05;
  const positive = p.reduce((n, _, i) => n + (p[i]! - (θ / affine.channels) * q[i]! > 0 ? 1 : 0), 0);
  console.log(
    JSON.stringify({
      decision: verdict.decision,
      similarity: verdict.similarity,
      threshold: verdict.threshold,
      explainedDecision: explained.decision,
      method: explained.explanation.method,
      overlayPngBytes: overlay.length,
      pixels: p.length,
      positiveShareAtHigherθ: positive / p.length,
    }),
  );
} catch (e) {
  if (e instanceof XfvProblem) console.error(`${e.status} ${e.kind}: ${e.problem.detail}`);
  throw e;
}
