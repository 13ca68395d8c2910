// Markdown for a benchmark run: one row per graph and one column per engine that ran, the ratios that matter,
// then kernel rows against their ceilings, warm-up, memory and per-token tables.
import type { EngineName, RowResult } from './spec';

const ENGINES: { name: EngineName; label: string }[] = [
  { name: 'webgpu', label: 'ours (webgpu)' },
  { name: 'webgpu-f16', label: 'ours, f16 arithmetic' },
  { name: 'ort-webgpu', label: 'ORT webgpu' },
  { name: 'wasm', label: 'ORT wasm' },
  { name: 'ort-cpu', label: 'ORT native CPU' },
  { name: 'auto', label: 'webvl auto' },
  { name: 'transformers.js', label: 'transformers.js' },
  { name: 'js-cpu', label: 'plain JS (CPU)' },
  { name: 'torch-cuda', label: 'PyTorch CUDA' },
];
/** Ratios shown: how many times faster ours is than each of these (other ÷ ours). */
const VERSUS: EngineName[] = ['webgpu-f16', 'ort-webgpu', 'wasm', 'ort-cpu', 'transformers.js', 'torch-cuda'];

function cell(r: RowResult | undefined): string {
  if (!r) return '—';
  if (r.error) return `error: ${r.error.slice(0, 60)}`;
  return `${r.medianMs.toFixed(2)} (p90 ${r.p90Ms.toFixed(2)})`;
}

function ratio(ours: RowResult | undefined, other: RowResult | undefined): string {
  if (!ours || !other || ours.error || other.error) return '—';
  return `${(other.medianMs / ours.medianMs).toFixed(2)}×`;
}

function table(header: string[], rows: string[][]): string[] {
  return [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ];
}

/** Kernel rows (one per variant) against the ceilings this run measured: copy bandwidth and best matmul. */
function kernelSection(kernels: RowResult[]): string[] {
  const ok = kernels.filter((r) => !r.error && r.engine === 'webgpu');
  const copy = ok.filter((r) => r.variant === 'copyBufferToBuffer' && r.bytesMoved);
  const bandwidth = Math.max(0, ...copy.map((r) => r.bytesMoved! / r.medianMs / 1e6)); // GB/s
  const matmuls = ok.filter((r) => r.id.startsWith('matmul') && r.flops);
  const bestMatmul = Math.max(0, ...matmuls.map((r) => r.flops! / r.medianMs / 1e6)); // GFLOP/s
  const torch = (id: string, variant?: string) =>
    kernels.find((r) => r.engine === 'torch-cuda' && r.id === id && (variant ? r.variant === variant : true));
  const rows = kernels
    .filter((r) => r.engine === 'webgpu')
    .map((r) => {
      if (r.error) return [r.id, r.variant ?? '', `error: ${r.error.slice(0, 60)}`, '', '', '', '', ''];
      const gflops = r.flops ? r.flops / r.medianMs / 1e6 : undefined;
      const gbs = r.bytesMoved ? r.bytesMoved / r.medianMs / 1e6 : undefined;
      const t = torch(r.id, r.variant?.endsWith('-f16') ? 'fp16' : 'fp32') ?? torch(r.id);
      const share = gflops && bestMatmul ? `${((100 * gflops) / bestMatmul).toFixed(0)}% of best matmul` : '';
      const bw = gbs && bandwidth ? `${((100 * gbs) / bandwidth).toFixed(0)}% of copy` : '';
      return [
        r.id,
        r.variant ?? '',
        r.medianMs.toFixed(4),
        gflops ? gflops.toFixed(0) : '—',
        gbs ? gbs.toFixed(0) : '—',
        [share, bw].filter(Boolean).join(', ') || '—',
        t && !t.error
          ? `${t.medianMs.toFixed(4)} ms${t.flops ? `, ${(t.flops / t.medianMs / 1e6).toFixed(0)} GFLOP/s` : ''}`
          : '—',
        r.maxRelDiffVsReference === undefined ? '—' : r.maxRelDiffVsReference.toExponential(1),
      ];
    });
  return [
    '',
    `Kernels (GPU time per dispatch, many dispatches per submit). Ceilings measured in this run: copy ${bandwidth.toFixed(0)} GB/s (bytes read + written), best matmul ${bestMatmul.toFixed(0)} GFLOP/s.`,
    '',
    ...table(
      ['kernel', 'variant', 'ms', 'GFLOP/s', 'GB/s', 'of ceiling', 'PyTorch CUDA', 'rel diff vs reference'],
      rows,
    ),
  ];
}

/** Shown per profiled row: its heaviest (op, kernel) pairs, then the rest summed. */
const PROFILE_TOP = 8;

/** Where our GPU time goes in each profiled row (timestamp queries; see ProfileEntry). */
function profileSection(graphs: RowResult[]): string[] {
  const profiled = graphs.filter((r) => r.engine === 'webgpu' && r.profile?.length);
  if (!profiled.length) return [];
  const lines = [
    '',
    'Where our GPU time goes (timestamp queries, each dispatch in a pass of its own; median per dispatch over the',
    "profiled runs, summed per op and kernel; the total exceeds a plain run by the passes' overhead):",
  ];
  for (const r of profiled) {
    const entries = r.profile!;
    const total = entries.reduce((sum, e) => sum + e.ms, 0);
    const rest = entries.slice(PROFILE_TOP);
    const row = (op: string, program: string, n: number, ms: number) => [
      op,
      program.replaceAll('|', '\\|'), // kernel keys are '|'-joined: escaped, or they split the table
      String(n),
      ms.toFixed(3),
      `${((100 * ms) / total).toFixed(1)}%`,
    ];
    lines.push('', `${r.id}: ${total.toFixed(2)} ms GPU in ${r.dispatches ?? '?'} dispatches`, '');
    lines.push(
      ...table(
        ['op', 'kernel', 'dispatches', 'ms', 'share'],
        [
          ...entries.slice(0, PROFILE_TOP).map((e) => row(e.op, e.program, e.dispatches, e.ms)),
          ...(rest.length
            ? [
                row(
                  `${rest.length} more`,
                  '',
                  rest.reduce((n, e) => n + e.dispatches, 0),
                  rest.reduce((sum, e) => sum + e.ms, 0),
                ),
              ]
            : []),
        ],
      ),
    );
  }
  return lines;
}

export function markdownReport(results: RowResult[], heading: string): string {
  const kernels = results.filter((r) => r.variant !== undefined);
  const graphs = results.filter((r) => r.variant === undefined);
  const ids = [...new Set(graphs.map((r) => r.id))];
  const find = (id: string, e: EngineName) => graphs.find((r) => r.id === id && r.engine === e);
  const present = ENGINES.filter((e) => graphs.some((r) => r.engine === e.name));
  const versus = VERSUS.filter((e) => e !== 'webgpu' && present.some((p) => p.name === e));
  const lines = [
    heading,
    '',
    'Median ms per run (p90), outputs read back. Ratios: how many times faster ours is (other ÷ ours).',
    'Dispatches: our GPU dispatches per run / nodes in the ONNX graph (what an unfused runtime launches; ORT fuses some).',
    '',
    ...table(
      [
        'row',
        ...present.map((e) => e.label),
        ...versus.map((e) => `ours vs ${ENGINES.find((x) => x.name === e)!.label}`),
        'dispatches ours / ONNX nodes',
      ],
      ids.map((id) => {
        const ours = find(id, 'webgpu');
        return [
          id,
          ...present.map((e) => cell(find(id, e.name))),
          ...versus.map((e) => ratio(ours, find(id, e))),
          `${ours?.dispatches ?? '—'} / ${find(id, 'ort-webgpu')?.dispatches ?? '—'}`,
        ];
      }),
    ),
  ];
  if (kernels.length) lines.push(...kernelSection(kernels));
  lines.push('', 'Warm-up (first run, includes pipeline compilation), ms:', '');
  lines.push(
    ...table(
      ['row', ...present.map((e) => e.label)],
      ids.map((id) => [
        id,
        ...present.map((e) => {
          const r = find(id, e.name);
          return r && !r.error ? r.warmupMs.toFixed(1) : '—';
        }),
      ]),
    ),
  );
  lines.push(
    '',
    'Peak GPU memory a row adds while it runs (MB; buffers created by any engine in the page), and the weights',
    'our engine holds after it (every storage format it uploaded):',
    '',
  );
  const mb = (b: number | undefined) => (b === undefined ? '—' : (b / 2 ** 20).toFixed(2));
  lines.push(
    ...table(
      ['row', 'ours', 'ORT webgpu', 'ours: weights held'],
      ids.map((id) => [
        id,
        mb(find(id, 'webgpu')?.peakGpuBytes),
        mb(find(id, 'ort-webgpu')?.peakGpuBytes),
        mb(find(id, 'webgpu')?.weightGpuBytes),
      ]),
    ),
  );
  for (const id of ids) {
    const perToken = graphs.filter((r) => r.id === id && r.perTokenMs?.length);
    if (!perToken.length) continue;
    const n = Math.max(...perToken.map((r) => r.perTokenMs!.length));
    lines.push('', `${id}: median ms per token (a caption's token 1 includes encoding the image):`, '');
    lines.push(
      ...table(
        ['engine', ...Array.from({ length: n }, (_, i) => String(i + 1)), `token ${n} ÷ token 2`],
        perToken.map((r) => {
          const t = r.perTokenMs!;
          return [r.engine, ...t.map((x) => x.toFixed(2)), n > 1 ? (t[n - 1] / t[1]).toFixed(2) : '—'];
        }),
      ),
    );
  }
  lines.push(...profileSection(graphs));
  const auto = graphs.filter((r) => r.engine === 'auto' && r.chosen);
  if (auto.length) {
    lines.push('', 'What `auto` chose:', '');
    for (const r of [...new Map(auto.map((x) => [x.chosen, x])).values()])
      lines.push(`- ${r.id}: ${r.chosen}`);
  }
  return `${lines.join('\n')}\n`;
}
