// Where the Node benchmark's results go: JSON (the browser bench's schema plus adapter and runtime) and
// markdown, rewritten after every row so that a run cut short by a time limit still leaves what it measured.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { markdownReport } from '../report';
import type { RowResult } from '../spec';

export interface NodeReport {
  date: string;
  adapter: Record<string, string | boolean | number>;
  adapterName: string;
  runtime: string;
  repeats: number;
  /** Set while the run is still going (or was cut short). */
  partial?: boolean;
  results: RowResult[];
}

export function reportPaths(dir: string, report: Pick<NodeReport, 'date' | 'adapterName'>, suffix: string) {
  const slug = `${report.date}-node-${report.adapterName.replace(/[^a-zA-Z0-9]+/g, '-').toLowerCase()}${suffix}`;
  return { json: `${dir}/${slug}.json`, md: `${dir}/${slug}.md` };
}

export function writeReport(paths: { json: string; md: string }, report: NodeReport): string {
  mkdirSync(paths.json.slice(0, paths.json.lastIndexOf('/')) || '.', { recursive: true });
  writeFileSync(paths.json, `${JSON.stringify(report, null, 1)}\n`);
  const status = report.partial ? ' (partial: the run has not finished)' : '';
  const md = markdownReport(
    report.results,
    `## Benchmark ${report.date}: ${report.adapterName}${status} (${JSON.stringify(report.adapter)}), ${report.runtime}`,
  );
  writeFileSync(paths.md, md);
  return md;
}

/** PyTorch anchor rows (bench/node/torch_anchor.py) as the 'torch-cuda' engine, replacing earlier ones. */
export function mergeAnchor(results: RowResult[], anchorPath: string): RowResult[] {
  const anchor = JSON.parse(readFileSync(anchorPath, 'utf8')) as { results: RowResult[] };
  return [
    ...results.filter((r) => r.engine !== 'torch-cuda'),
    ...anchor.results.map((r) => ({ ...r, engine: 'torch-cuda' as const })),
  ];
}
