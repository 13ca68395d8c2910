// Markdown for a benchmark run: one row per graph, one column per engine, then the ratios that matter.
import type { EngineName, RowResult } from './spec';

const ENGINES: EngineName[] = ['webgpu', 'ort-webgpu', 'wasm', 'auto', 'transformers.js', 'js-cpu'];

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
    '| row | ours (webgpu) | ORT webgpu | ORT wasm | webvl auto | transformers.js | plain JS (CPU) | ours vs ORT webgpu | ours vs ORT wasm | ours vs transformers.js | dispatches ours / ONNX nodes |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
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
    '| row | ours | ORT webgpu | ORT wasm | webvl auto | transformers.js | plain JS |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  );
  for (const id of ids) {
    const w = ENGINES.map((e) => {
      const r = find(id, e);
      return r && !r.error ? r.warmupMs.toFixed(1) : '—';
    });
    lines.push(`| ${id} | ${w.join(' | ')} |`);
  }
  lines.push(
    '',
    'Peak GPU memory a row adds while it runs (MB; buffers created by any engine in the page):',
    '',
  );
  lines.push('| row | ours | ORT webgpu |', '| --- | --- | --- |');
  for (const id of ids) {
    const mb = (e: EngineName) => {
      const b = find(id, e)?.peakGpuBytes;
      return b === undefined ? '—' : (b / 2 ** 20).toFixed(2);
    };
    lines.push(`| ${id} | ${mb('webgpu')} | ${mb('ort-webgpu')} |`);
  }
  const captions = results.filter((r) => r.perTokenMs?.length);
  if (captions.length) {
    const n = Math.max(...captions.map((r) => r.perTokenMs!.length));
    lines.push('', 'Captioning, median ms per token (token 1 includes encoding the image):', '');
    lines.push(
      `| engine | ${Array.from({ length: n }, (_, i) => i + 1).join(' | ')} | token ${n} ÷ token 2 |`,
    );
    lines.push(`| --- | ${Array.from({ length: n + 1 }, () => '---').join(' | ')} |`);
    for (const r of captions) {
      const t = r.perTokenMs!;
      lines.push(
        `| ${r.engine} | ${t.map((x) => x.toFixed(1)).join(' | ')} | ${(t[n - 1] / t[1]).toFixed(2)} |`,
      );
    }
  }
  const auto = results.filter((r) => r.engine === 'auto' && r.chosen);
  if (auto.length) {
    lines.push('', 'What `auto` chose:', '');
    for (const r of [...new Map(auto.map((x) => [x.chosen, x])).values()])
      lines.push(`- ${r.id}: ${r.chosen}`);
  }
  return `${lines.join('\n')}\n`;
}
