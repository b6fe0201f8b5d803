/**
 * @module eval/lib/args
 * Command-line options of the evaluation scripts: `--name value` pairs, and the options
 * every sampled evaluation takes.
 */
import type { EvalMethod } from './maps.js';

/** The value after `--name`, or undefined. */
export const argGetter = (argv: string[]) => (name: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};

/** What a sampled evaluation runs: which pairs, methods and runtime, and where it writes. */
export interface SampleOptions {
  pairsFile: string;
  methods: EvalMethod[];
  out: string;
  genuine: number;
  impostor: number;
  seed: number;
  runtime: 'node' | 'web';
}
