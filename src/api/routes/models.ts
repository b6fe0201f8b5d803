/**
 * @module api/routes/models
 * `GET /v1/models`: the served model's public fields (input contract, decision threshold,
 * accuracy figures, file hashes), and this isolate's wasm heaps and admission load.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { admissionLoad } from '../../worker/admission.js';
import { photoModelsHeapBytes } from '../../worker/photo-models.js';
import { type ModelFile, type ModelManifest, modelRef } from '../../xfv/manifest.js';
import { apiKey, bearerAuth } from '../middleware/api-key.js';
import { problemResponses } from '../problem-response.js';
import { newRouter } from '../router.js';

const GateLoad = z.object({
  running: z.number().int(),
  waiting: z.number().int(),
  peakRunning: z.number().int().openapi({ description: 'The most running at once since this isolate started' }),
  peakWaiting: z.number().int().openapi({ description: 'The most waiting at once since this isolate started' }),
});

const ModelInfo = z
  .object({
    id: z.string(),
    version: z.string(),
    description: z.string(),
    license: z.string(),
    input: z.object({
      name: z.string(),
      size: z.number(),
      channelOrder: z.string(),
      layout: z.string(),
      mean: z.array(z.number()),
      scale: z.number(),
      preprocessing: z.string(),
    }),
    output: z.object({ name: z.string(), size: z.number(), normalised: z.boolean() }),
    decision: z.object({ model: z.string(), metric: z.string(), threshold: z.number(), centredThreshold: z.number() }),
    accuracy: z.record(z.string(), z.unknown()),
    files: z.record(z.string(), z.object({ path: z.string(), sha256: z.string(), bytes: z.number() })),
  })
  .openapi('ModelInfo');

export function publicModelInfo(m: ModelManifest) {
  return {
    id: m.id,
    version: modelRef(m).version,
    description: m.description,
    license: m.license,
    input: {
      name: m.input.name,
      size: m.input.size,
      channelOrder: m.input.channelOrder,
      layout: m.input.layout,
      mean: m.input.mean,
      scale: m.input.scale,
      preprocessing: m.input.preprocessing,
    },
    output: m.output,
    decision: m.decision,
    accuracy: { ...m.accuracy },
    files: Object.fromEntries(Object.entries(m.files).filter((entry): entry is [string, ModelFile] => entry[1] !== undefined)),
  };
}

export const modelsRouter = newRouter().openapi(
  createRoute({
    method: 'get',
    path: '/v1/models',
    summary: 'The served model: input contract, decision threshold, accuracy figures, file hashes',
    security: bearerAuth,
    middleware: apiKey(null, null),
    responses: {
      200: {
        description: 'Models',
        content: {
          'application/json': {
            schema: z.object({
              models: z.array(ModelInfo),
              runtime: z.object({
                wasmHeapBytes: z
                  .number()
                  .nullable()
                  .openapi({ description: "Size of this isolate's onnxruntime wasm heap (it only grows)" }),
                photoModelsWasmHeapBytes: z.number().nullable().openapi({
                  description:
                    "Size of the photo-models Worker's wasm heaps: onnxruntime's (the face detector and landmark net run there) and the JPEG decoder's (photos of a few MP are decoded there); null when neither has run yet, it is not bound, or it does not answer",
                }),
                admission: z.object({ images: GateLoad, photos: GateLoad, gradient: GateLoad }).openapi({
                  description: "This isolate's admission gates now (README, API): requests holding a slot and waiting for one",
                }),
              }),
            }),
          },
        },
      },
      ...problemResponses([401, 429, 503]),
    },
  }),
  async (c) => {
    const engine = await c.get('engine')();
    const runtime = {
      wasmHeapBytes: c.get('heapBytes')?.() ?? null,
      photoModelsWasmHeapBytes: await photoModelsHeapBytes(c.env),
      admission: admissionLoad(),
    };
    return c.json({ models: [publicModelInfo(engine.manifest)], runtime }, 200);
  },
);
