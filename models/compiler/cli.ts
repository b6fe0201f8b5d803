/**
 * @module models/compiler/cli
 * `npm run compile -- in.onnx --out out.grad.onnx [--share-weights]`: compile a forward
 * embedding model's gradient graph (see compile.ts for the contract and the option).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { CompileError, compileGradient } from './compile.js';

async function main() {
  const args = process.argv.slice(2);
  const outAt = args.indexOf('--out');
  const input = args.find((a, i) => !a.startsWith('--') && i !== outAt + 1);
  if (!input || outAt < 0 || !args[outAt + 1]) {
    console.error('usage: npm run compile -- model.onnx --out model.grad.onnx [--share-weights]');
    process.exit(2);
  }
  const out = args[outAt + 1]!;
  const t0 = performance.now();
  const bytes = await compileGradient(readFileSync(input), {
    name: basename(input, '.onnx'),
    shareWeights: args.includes('--share-weights'),
  });
  writeFileSync(out, bytes);
  console.log(`compile: wrote ${out} (${(bytes.length / 1e6).toFixed(1)} MB) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

main().catch((e: unknown) => {
  console.error(e instanceof CompileError ? `compile: ${e.message}` : e);
  process.exit(1);
});
