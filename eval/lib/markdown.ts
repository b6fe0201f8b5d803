/**
 * @module eval/lib/markdown
 * A Markdown table, for the generated result tables of the evaluations and benchmarks.
 */
export function markdownTable(header: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}
