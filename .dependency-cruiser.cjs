// The import rules of the house (docs/architecture.md, "Layers"), checked by
// `npm run check:imports` (dependency-cruiser) in CI. Type-only imports count too.
// Layers, from the ground up: the pure modules (src/xfv, src/face, src/image and the root
// helpers src/release.ts, src/sha256.ts) → src/accounts, src/store, src/problems →
// src/engine → src/worker (the Worker's wiring) → src/jobs → src/api (HTTP only) →
// the entries (src/index.ts, src/photo-models.ts). Tools sit beside: src/cli, models/,
// eval/, bench/, test/, web/, client/.
const ours = (...dirs) => dirs.map((d) => `^${d}`);
const SRC_LAYERS = ['src/accounts/', 'src/store/', 'src/problems/', 'src/engine/', 'src/worker/', 'src/jobs/', 'src/api/', 'src/cli/'];

/** `from` may import nothing in src/ but its own folder and `allowed`. */
const onlyImports = (name, from, allowed, comment) => ({
  name,
  comment,
  severity: 'error',
  from: { path: `^${from}` },
  to: { path: '^src/', pathNot: [`^${from}`, ...ours(...allowed)] },
});

module.exports = {
  forbidden: [
    { name: 'no-circular', comment: 'No import circles.', severity: 'error', from: {}, to: { circular: true } },
    onlyImports('pure-xfv', 'src/xfv/', [], 'The maths imports nothing of ours.'),
    onlyImports('pure-face', 'src/face/', [], 'Face geometry imports nothing of ours.'),
    onlyImports('pure-image', 'src/image/', [], 'Image codecs and warps import nothing of ours.'),
    onlyImports('accounts', 'src/accounts/', ['src/sha256.ts'], 'Accounts import only the root helpers.'),
    onlyImports(
      'store',
      'src/store/',
      ['src/xfv/', 'src/release.ts', 'src/sha256.ts'],
      'Storage imports only types and constants of the maths.',
    ),
    onlyImports('problems', 'src/problems/', ['src/image/'], 'Problems know the image errors, nothing above.'),
    onlyImports(
      'engine',
      'src/engine/',
      ['src/xfv/', 'src/face/', 'src/image/', 'src/store/', 'src/accounts/', 'src/problems/', 'src/release.ts', 'src/sha256.ts'],
      'The engine knows nothing of the Worker, jobs or HTTP.',
    ),
    onlyImports(
      'worker',
      'src/worker/',
      ['src/engine/', 'src/image/', 'src/store/', 'src/accounts/', 'src/problems/', 'src/xfv/'],
      'The Worker wiring knows nothing of jobs or HTTP.',
    ),
    onlyImports(
      'jobs',
      'src/jobs/',
      ['src/worker/', 'src/engine/', 'src/image/', 'src/store/', 'src/accounts/', 'src/problems/', 'src/xfv/'],
      'Jobs know nothing of HTTP.',
    ),
    onlyImports(
      'cli',
      'src/cli/',
      ['src/worker/', 'src/engine/', 'src/jobs/', 'src/image/', 'src/store/', 'src/accounts/', 'src/problems/', 'src/xfv/', 'src/face/'],
      'The CLI runs the engine in Node, never the HTTP app.',
    ),
    {
      name: 'api-from-entries-only',
      comment: 'Only the Worker entry (and the OpenAPI generator) build the HTTP app.',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/api/', '^src/index\\.ts$'] },
      to: { path: '^src/api/' },
    },
    {
      name: 'src-stands-alone',
      comment: 'The service imports no tool: the Worker reads built models from R2.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(models|eval|bench|test|web|client)/' },
    },
    {
      name: 'models-use-pure-src',
      comment: 'The model toolchain uses only the pure maths, geometry and image code of src/.',
      severity: 'error',
      from: { path: '^models/' },
      to: { path: '^(src/(?!xfv/|face/|image/)|eval/|bench/|test/)' },
    },
    {
      name: 'eval-below-bench',
      comment: 'Evaluations import no benchmark or test code.',
      severity: 'error',
      from: { path: '^eval/' },
      to: { path: '^(bench|test)/' },
    },
    {
      name: 'bench-uses-oracles-only',
      comment: 'Benchmarks may compare against the independent oracles, not import test suites or helpers.',
      severity: 'error',
      from: { path: '^bench/' },
      to: { path: '^test/', pathNot: '^test/oracle/' },
    },
    {
      name: 'no-unused-layer-names',
      comment: 'Keep SRC_LAYERS in step with src/ (a guard against a new folder slipping past the rules).',
      severity: 'error',
      from: {
        path: '^src/(?!xfv/|face/|image/|index\\.ts|photo-models\\.ts|release\\.ts|sha256\\.ts|worker-configuration\\.d\\.ts)',
        pathNot: SRC_LAYERS.map((d) => `^${d}`),
      },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: ['^node_modules', '^public/', '^models/dist/', '\\.wrangler'] },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
