/**
 * @module api/problem-pages
 * The problem types for people: one small HTML page per type (so every problem `type` URI
 * resolves) and a Markdown table of them for the OpenAPI document, which the API reference
 * at /docs/ (Swagger UI, static assets) renders.
 */
import { PROBLEMS, type ProblemKind } from '../problems/problem.js';

const esc = (s: unknown) =>
  String(s ?? '').replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);

const STYLE = `body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1d1d1f}
code,pre{font:13px ui-monospace,monospace;background:#f4f4f6;border-radius:4px;padding:.1rem .3rem}
pre{padding:.6rem;overflow:auto}h2{border-bottom:1px solid #ddd;margin-top:2rem}
.m{display:inline-block;min-width:3.5rem;font-weight:700}.get{color:#0a7}.post{color:#06c}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left;vertical-align:top}`;

/** The problem types as a Markdown table, for the OpenAPI document's description (rendered by /docs/). */
export function problemTable(): string {
  const rows = (Object.keys(PROBLEMS) as ProblemKind[]).map(
    (k) => `| [\`/problems/${k}\`](/problems/${k}) | ${PROBLEMS[k].status} | ${PROBLEMS[k].doc} |`,
  );
  return ['| type | status | meaning |', '| --- | --- | --- |', ...rows].join('\n');
}

export function problemPage(kind: ProblemKind): string {
  const p = PROBLEMS[kind];
  return `<!doctype html><html lang="en"><meta charset="utf-8"><title>${esc(p.title)}</title><style>${STYLE}</style>
<h1>${esc(p.title)}</h1><p>HTTP ${p.status}. ${esc(p.doc)}</p><p><a href="/docs/">API reference</a></p></html>`;
}
