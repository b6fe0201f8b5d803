/**
 * @module api/docs
 * A self-contained HTML page documenting the API from the generated OpenAPI document
 * (no external scripts or fonts: it works offline and under a strict CSP), plus one page
 * per problem type so that every problem `type` URI resolves.
 */
import { PROBLEMS, type ProblemKind } from './problem.js';

const esc = (s: unknown) =>
  String(s ?? '').replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);

const STYLE = `body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1d1d1f}
code,pre{font:13px ui-monospace,monospace;background:#f4f4f6;border-radius:4px;padding:.1rem .3rem}
pre{padding:.6rem;overflow:auto}h2{border-bottom:1px solid #ddd;margin-top:2rem}
.m{display:inline-block;min-width:3.5rem;font-weight:700}.get{color:#0a7}.post{color:#06c}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left;vertical-align:top}`;

// biome-ignore lint/suspicious/noExplicitAny: the OpenAPI document is walked generically
type Doc = any;

export function docsPage(doc: Doc): string {
  const ops: string[] = [];
  for (const [path, item] of Object.entries<Doc>(doc.paths ?? {})) {
    for (const [method, op] of Object.entries<Doc>(item)) {
      const body = op.requestBody?.content
        ? Object.keys(op.requestBody.content)
            .map((t) => `<code>${esc(t)}</code>`)
            .join(' or ')
        : '';
      const responses = Object.entries<Doc>(op.responses ?? {})
        .map(
          ([code, r]) =>
            `<tr><td>${esc(code)}</td><td>${esc(r.description)}</td><td>${Object.keys(r.content ?? {})
              .map(esc)
              .join(', ')}</td></tr>`,
        )
        .join('');
      ops.push(`<h3><span class="m ${esc(method)}">${esc(method.toUpperCase())}</span> <code>${esc(path)}</code></h3>
<p>${esc(op.summary)}</p>${op.description ? `<p>${esc(op.description)}</p>` : ''}
${body ? `<p>Body: ${body}</p>` : ''}<table><tr><th>status</th><th>meaning</th><th>content</th></tr>${responses}</table>`);
    }
  }
  const problems = (Object.keys(PROBLEMS) as ProblemKind[])
    .map(
      (k) =>
        `<tr><td><a href="/problems/${k}"><code>/problems/${k}</code></a></td><td>${PROBLEMS[k].status}</td><td>${esc(PROBLEMS[k].doc)}</td></tr>`,
    )
    .join('');
  return `<!doctype html><html lang="en"><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>${esc(doc.info?.title)} — API</title><style>${STYLE}</style>
<h1>${esc(doc.info?.title)} <small>${esc(doc.info?.version)}</small></h1><p>${esc(doc.info?.description)}</p>
<p>Machine-readable: <a href="/openapi.json"><code>/openapi.json</code></a> (OpenAPI ${esc(doc.openapi)}).</p>
<h3>Example</h3><pre>curl -s -F a=@face1.png -F b=@face2.png http://127.0.0.1:8787/v1/verify</pre>
<h2>Endpoints</h2>${ops.join('\n')}
<h2>Errors</h2><p>Every error is <code>application/problem+json</code> (RFC 9457) with one of these <code>type</code>s:</p>
<table><tr><th>type</th><th>status</th><th>meaning</th></tr>${problems}</table></html>`;
}

export function problemPage(kind: ProblemKind): string {
  const p = PROBLEMS[kind];
  return `<!doctype html><html lang="en"><meta charset="utf-8"><title>${esc(p.title)}</title><style>${STYLE}</style>
<h1>${esc(p.title)}</h1><p>HTTP ${p.status}. ${esc(p.doc)}</p><p><a href="/docs">API documentation</a></p></html>`;
}
