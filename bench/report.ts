// Markdown for a benchmark run: one row per graph, one column per engine, then the ratios that matter.
import type { EngineName, RowResult } from './spec';

const ENGINES: EngineName[] = ['webgpu', 'ort-webgpu', 'wasm', 'transformers.js', 'js-cpu'];

function cell(r: RowResult | undefined): string {
  if (!r) return '—';
  if (r.error) return `error: ${r.error.slice(0, 60)}`;
  return `${r.medianMs.toFixed(2)} (p90 ${r.p90Ms.toFixed(2)})`;
}

function ratio(ours: RowResult | undefined, other: RowResult | undefined): string {
  if (!ours || !other || ours.error || other.error) return '—';
  return `${(other.medianMs / ours.medianMs).toFixed(2)}×`;
}

export function markdownReport(results: RowResult[], heading: string): string {
  const ids = [...new Set(results.map((r) => r.id))];
  const find = (id: string, e: EngineName) => results.find((r) => r.id === id && r.engine === e);
  const lines = [
    heading,
    '',
    'Median ms per run (p90), outputs read back. Ratios: how many times faster ours is (other ÷ ours).',
    'Dispatches: our GPU dispatches per run / nodes in the ONNX graph (what an unfused runtime launches; ORT fuses some).',
    '',
    '| row | ours (webgpu) | ORT webgpu | ORT wasm | transformers.js | plain JS (CPU) | ours vs ORT webgpu | ours vs ORT wasm | ours vs transformers.js | dispatches ours / ONNX nodes |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const id of ids) {
    const ours = find(id, 'webgpu');
    const cells = ENGINES.map((e) => cell(find(id, e)));
    const dispatches = `${ours?.dispatches ?? '—'} / ${find(id, 'ort-webgpu')?.dispatches ?? '—'}`;
    lines.push(
      `| ${id} | ${cells.join(' | ')} | ${ratio(ours, find(id, 'ort-webgpu'))} | ${ratio(ours, find(id, 'wasm'))} | ${ratio(ours, find(id, 'transformers.js'))} | ${dispatches} |`,
    );
  }
  lines.push('', 'Warm-up (first run, includes pipeline compilation), ms:', '');
  lines.push(
    '| row | ours | ORT webgpu | ORT wasm | transformers.js | plain JS |',
    '| --- | --- | --- | --- | --- | --- |',
  );
  for (const id of ids) {
    const w = ENGINES.map((e) => {
      const r = find(id, e);
      return r && !r.error ? r.warmupMs.toFixed(1) : '—';
    });
    lines.push(`| ${id} | ${w.join(' | ')} |`);
  }
  return `${lines.join('\n')}\n`;
}
