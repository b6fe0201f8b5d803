// The import rules of the house (docs/architecture.md, "Layers"), checked by
// `npm run check:imports` (dependency-cruiser) in CI. Type-only imports count too.
// Layers, from the ground up: the pure modules (src/xfv, src/face, src/image and the root
// helpers src/release.ts, src/sha256.ts) → src/accounts, src/store, src/problems →
// src/engine → src/worker (the Worker's wiring) → src/jobs → src/api (HTTP only) →
// the entries (src/index.ts, src/photo-models.ts). Tools sit beside: src/cli, models/,
// eval/, bench/, test/, web/, client/.

/** A rule: imports from `from` to `to` (dependency-cruiser path conditions) are errors. */
const forbid = (name, comment, from, to) => ({ name, comment, severity: 'error', from, to });

/** `folder` may import nothing in src/ but itself and `allowed`. */
const onlyImports = (name, folder, allowed, comment) =>
  forbid(name, comment, { path: `^${folder}` }, { path: '^src/', pathNot: [folder, ...allowed].map((p) => `^${p}`) });

const ROOT_HELPERS = ['src/release.ts', 'src/sha256.ts'];
const BELOW_ENGINE = ['src/xfv/', 'src/face/', 'src/image/', 'src/store/', 'src/accounts/', 'src/problems/', ...ROOT_HELPERS];
/** The src/ folders with a rule of their own below; a new folder needs one (rule every-src-folder-has-a-rule). */
const RULED = [
  'src/xfv/',
  'src/face/',
  'src/image/',
  'src/accounts/',
  'src/store/',
  'src/problems/',
  'src/engine/',
  'src/worker/',
  'src/jobs/',
  'src/api/',
  'src/cli/',
];

module.exports = {
  forbidden: [
    forbid('no-circular', 'No import circles.', {}, { circular: true }),
    onlyImports('pure-xfv', 'src/xfv/', [], 'The maths imports nothing of ours.'),
    onlyImports('pure-face', 'src/face/', [], 'Face geometry imports nothing of ours.'),
    onlyImports('pure-image', 'src/image/', [], 'Image codecs and warps import nothing of ours.'),
    onlyImports('accounts', 'src/accounts/', ROOT_HELPERS, 'Accounts import only the root helpers.'),
    onlyImports('store', 'src/store/', ['src/xfv/', ...ROOT_HELPERS], 'Storage imports only types and constants of the maths.'),
    onlyImports('problems', 'src/problems/', ['src/image/'], 'Problems know the image errors, nothing above.'),
    onlyImports('engine', 'src/engine/', BELOW_ENGINE, 'The engine knows nothing of the Worker, jobs or HTTP.'),
    onlyImports('worker', 'src/worker/', ['src/engine/', ...BELOW_ENGINE], 'The Worker wiring knows nothing of jobs or HTTP.'),
    onlyImports('jobs', 'src/jobs/', ['src/worker/', 'src/engine/', ...BELOW_ENGINE], 'Jobs know nothing of HTTP.'),
    onlyImports(
      'cli',
      'src/cli/',
      ['src/worker/', 'src/engine/', 'src/jobs/', ...BELOW_ENGINE],
      'The CLI runs the engine in Node, never the HTTP app.',
    ),
    forbid(
      'api-from-entries-only',
      'Only the Worker entry (and the OpenAPI generator, outside src/) build the HTTP app.',
      { path: '^src/', pathNot: ['^src/api/', '^src/index\\.ts$'] },
      { path: '^src/api/' },
    ),
    forbid(
      'every-src-folder-has-a-rule',
      'A file in src/ sits in a folder ruled above, or is an entry or a root helper.',
      {
        path: '^src/',
        pathNot: [...RULED, ...ROOT_HELPERS, 'src/index.ts', 'src/photo-models.ts', 'src/worker-configuration.d.ts'].map((p) => `^${p}`),
      },
      {},
    ),
    forbid(
      'src-stands-alone',
      'The service imports no tool: the Worker reads built models from R2.',
      { path: '^src/' },
      { path: '^(models|eval|bench|test|web|client)/' },
    ),
    forbid(
      'models-use-pure-src',
      'The model toolchain uses only the pure maths, geometry and image code of src/.',
      { path: '^models/' },
      { path: '^(src/(?!xfv/|face/|image/)|eval/|bench/|test/)' },
    ),
    forbid('eval-below-bench', 'Evaluations import no benchmark or test code.', { path: '^eval/' }, { path: '^(bench|test)/' }),
    forbid(
      'bench-uses-oracles-only',
      'Benchmarks may compare against the independent oracles, not import test suites or helpers.',
      { path: '^bench/' },
      { path: '^test/', pathNot: '^test/oracle/' },
    ),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: ['^node_modules', '^public/', '^models/dist/', '\\.wrangler'] },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
  },
};
