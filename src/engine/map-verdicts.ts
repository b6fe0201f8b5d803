/**
 * @module engine/map-verdicts
 * What an answer says about its maps: for the method and mode that made them, how that
 * method's maps did on the model's development photos against answers that cannot explain
 * a pair (the manifest's `faithfulness`, from `npm run eval:margins`; docs/evaluation.md).
 * A map kind that did not beat them is labelled so; a mode that was not measured says that.
 */
import type { FaithfulnessEvidence, MapEvidence } from '../xfv/manifest.js';
import type { ExplainMethod } from './explain-pair.js';

export type Verdict = 'explains-pair' | 'not-shown-to-explain-pair' | 'not-measured';

export interface MapVerdict {
  verdict: Verdict;
  /** The measured figures behind it (null when not measured). */
  evidence: MapEvidence | null;
  /** What it was measured on (null when not measured). */
  measuredOn: string | null;
}

/** The evaluation's name for a served mode (eval/lib/maps ALL_METHODS). */
export function evaluatedName(method: ExplainMethod, centre: boolean, smooth: boolean): string {
  if (method !== 'fggb') return method;
  return `fggb${centre ? '-centred' : ''}${smooth ? '-smooth' : ''}`;
}

export function mapVerdicts(
  evidence: FaithfulnessEvidence | undefined,
  mode: { method: ExplainMethod; centre: boolean; smooth: boolean },
): { similarity: MapVerdict; dissimilarity: MapVerdict } {
  const measured = evidence?.methods[evaluatedName(mode.method, mode.centre, mode.smooth)];
  const verdict = (e: MapEvidence | undefined): MapVerdict =>
    e
      ? { verdict: e.explainsPair ? 'explains-pair' : 'not-shown-to-explain-pair', evidence: e, measuredOn: evidence!.source }
      : { verdict: 'not-measured', evidence: null, measuredOn: null };
  return { similarity: verdict(measured?.similarity), dissimilarity: verdict(measured?.dissimilarity) };
}
