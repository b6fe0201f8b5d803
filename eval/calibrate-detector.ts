/**
 * @module eval/calibrate-detector
 * `npm run calibrate:detector -- [photos dir]`: the activation ranges of the face detector's
 * int8 form, measured with its fp32 form (onnxruntime-node) on real photos (default: every
 * development photo in ../shared/faces/photos, single/ and group/, prepared exactly as the
 * service feeds the detector). Writes models/detector-calibration.json, which is committed
 * so the build works without ../shared.
 */
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import * as ortNode from 'onnxruntime-node';
import { DETECTOR_CALIBRATION_FILE } from '../models/build.js';
import { loadWeights } from '../models/facenet/weights.js';
import { SSD_MANIFEST, SSD_SIZE, ssdGraph } from '../models/photo/ssd.js';
import { detectorInput } from '../src/engine/faces.js';
import { decodeImage } from '../src/image/index.js';
import { exifOrientation, orientUpright } from '../src/image/orientation.js';
import { PHOTOS_DIR, REPO_ROOT } from './lib/faces.js';
import { widenRanges } from './lib/ranges.js';

async function main() {
  const dir = process.argv[2] ?? PHOTOS_DIR;
  if (!existsSync(dir)) throw new Error(`${dir} is missing (../shared/faces/photos beside the clone)`);
  const files = ['single', 'group'].flatMap((sub) =>
    existsSync(join(dir, sub)) ? readdirSync(join(dir, sub)).map((f) => join(dir, sub, f)) : [],
  );
  const { graph, points } = ssdGraph(loadWeights(undefined, SSD_MANIFEST), { probe: true });
  const session = await ortNode.InferenceSession.create(graph.serialize(), { intraOpNumThreads: 1 });
  const ranges: Record<string, [number, number]> = {};
  for (const file of files) {
    const bytes = new Uint8Array(readFileSync(file));
    const img = orientUpright(decodeImage(bytes, { maxPixels: 50_000_000 }), exifOrientation(bytes));
    const out = await session.run({ x: new ortNode.Tensor('float32', detectorInput(img, SSD_SIZE), [1, 3, SSD_SIZE, SSD_SIZE]) });
    widenRanges(ranges, points, out);
  }
  const calibration = {
    source: { photos: relative(REPO_ROOT, dir), images: files.length },
    runtime: 'onnxruntime-node 1.30.0, fp32 SSD',
    activationRanges: ranges,
  };
  writeFileSync(DETECTOR_CALIBRATION_FILE, `${JSON.stringify(calibration, null, 1)}\n`);
  console.log(
    `calibrate:detector: ${points.length} activation ranges from ${files.length} photos → ${relative(process.cwd(), DETECTOR_CALIBRATION_FILE)}`,
  );
}

main().catch((e: unknown) => {
  console.error(`calibrate:detector: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
