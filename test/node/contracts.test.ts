/**
 * Each contract has one source: where the engine's TypeScript types and the API's zod
 * schemas describe the same thing, these checks hold the two equal. The type checks run in
 * `npm run typecheck` (tsc reads test/), the parses here.
 */
import type { z } from '@hono/zod-openapi';
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  type ExplainForm,
  type ExplainJson,
  ExplainResult,
  explainExample,
  type MapVerdict,
} from '../../src/api/routes/explain.schemas.js';
import type { JobJson } from '../../src/api/routes/jobs.schemas.js';
import { type InputReport, type Timing, type VerifyJson, VerifyResult, verifyExample } from '../../src/api/routes/verify.schemas.js';
import type { ExplainSettings } from '../../src/engine/explain-images.js';
import type { MapVerdict as EngineMapVerdict } from '../../src/engine/map-verdicts.js';
import type { InputReport as EngineInputReport } from '../../src/engine/inputs.js';
import type { VerifyResult as EngineVerifyResult, VerifySettings } from '../../src/engine/verify.js';
import type { JobSettings } from '../../src/jobs/db.js';
import { Problem, type ProblemDetails, problemBody } from '../../src/problems/problem.js';

type Fields<T> = Exclude<keyof T, 'a' | 'b' | 'maps'>;

describe('one source per contract', () => {
  it('the request schemas ask for what the engine takes', () => {
    // The same option names, and every value the schema accepts is one the engine takes.
    expectTypeOf<Fields<z.output<typeof VerifyJson>>>().toEqualTypeOf<keyof VerifySettings>();
    expectTypeOf<Pick<z.output<typeof VerifyJson>, keyof VerifySettings>>().toExtend<VerifySettings>();
    expectTypeOf<Fields<z.output<typeof ExplainJson>>>().toEqualTypeOf<keyof ExplainSettings>();
    expectTypeOf<Pick<z.output<typeof ExplainJson>, keyof ExplainSettings>>().toExtend<ExplainSettings>();
    // The form gives the face choices as two fields (faceA, faceB) instead of `faces`.
    expectTypeOf<Fields<z.output<typeof ExplainForm>>>().toEqualTypeOf<Exclude<keyof ExplainSettings, 'faces'> | 'faceA' | 'faceB'>();
    // A job is asked as /v1/explain is (but keeps its result), plus the maps wanted.
    expectTypeOf<Exclude<keyof z.output<typeof JobJson>, 'a' | 'b' | 'callbackUrl' | 'store'>>().toEqualTypeOf<keyof JobSettings>();
    expectTypeOf<z.output<typeof ExplainJson>['maps']>().toExtend<JobSettings['maps']>();
  });

  it('the answer schemas describe what the engine answers', () => {
    expectTypeOf<keyof z.input<typeof InputReport>>().toEqualTypeOf<keyof EngineInputReport>();
    expectTypeOf<EngineInputReport>().toExtend<z.input<typeof InputReport>>();
    expectTypeOf<z.output<typeof Timing>>().toEqualTypeOf<EngineVerifyResult['timing']>();
    expectTypeOf<keyof z.input<typeof VerifyResult>>().toEqualTypeOf<keyof EngineVerifyResult>();
    expectTypeOf<ProblemDetails>().toEqualTypeOf<z.output<typeof Problem>>();
    expectTypeOf<EngineMapVerdict>().toEqualTypeOf<z.output<typeof MapVerdict>>();
  });

  it("the OpenAPI document's examples are valid answers", () => {
    expect(VerifyResult.safeParse(verifyExample()).error).toBeUndefined();
    const explained = ExplainResult.safeParse(explainExample());
    expect(explained.error).toBeUndefined();
    expect(explained.data?.explanation.images.a).toMatch(/^[0-9a-f]{64}$/);
    expect(Problem.safeParse(problemBody('no-face', 'no face in image a', { field: 'a' }, 'req-1', '/v1/verify')).error).toBeUndefined();
  });
});
