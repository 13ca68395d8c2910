// One model's load, as the demo shows it: a byte progress bar, a line per stage (downloading, verifying,
// compiling, warming up) that says what is happening in it, and once ready how long each stage took.
import type { LoadedModelInfo, LoadProgress, LoadStage } from '../api/types';
import { fmtMB, fmtSeconds, h } from './dom';
import { errorView } from './error-view';

const STAGES: readonly { stage: LoadStage; label: string }[] = [
  { stage: 'downloading', label: 'Downloading' },
  { stage: 'verifying', label: 'Verifying' },
  { stage: 'compiling', label: 'Compiling' },
  { stage: 'warming-up', label: 'Warming up' },
];

export interface ModelStatus {
  readonly element: HTMLElement;
  update(p: LoadProgress): void;
  ready(info: LoadedModelInfo, pageMs: number): void;
  failed(e: unknown): void;
}

const graphName = (file: string) => file.replace(/^onnx\//, '').replace(/(_model)?(_fp16)?\.onnx$/, '');

export function modelStatus(name: string, title: string, role: string): ModelStatus {
  const bar = h('progress', { id: `progress-${name}`, value: '0', max: '1' });
  const summary = h('span', { class: 'model-summary' }, 'waiting to start');
  const lines = new Map(
    STAGES.map(({ stage, label }) => [
      stage,
      h('li', { 'data-stage': stage, class: 'pending' }, h('b', {}, label), h('span', {}, '')),
    ]),
  );
  const element = h(
    'div',
    { class: 'model', id: `model-${name}`, 'data-model': name, 'data-state': 'loading' },
    h('div', { class: 'model-head' }, h('strong', {}, title), h('span', { class: 'muted' }, role), summary),
    bar,
    h('ol', { class: 'stages' }, ...lines.values()),
  );
  // Downloading and compiling overlap (a graph compiles while the next file arrives): a stage's line is
  // active from its first event and done once its last file or graph has been seen and another stage speaks.
  const reached = new Map<LoadStage, boolean>();
  const setLine = (p: LoadProgress, text: string) => {
    reached.set(p.stage, p.step === p.steps);
    for (const [stage, li] of lines) {
      if (stage === p.stage) li.className = 'active';
      else if (reached.get(stage)) li.className = 'done';
    }
    lines.get(p.stage)!.lastElementChild!.textContent = text;
  };
  return {
    element,
    update(p) {
      bar.max = p.total;
      bar.value = p.loaded;
      const bytes = `${fmtMB(p.loaded)} of ${fmtMB(p.total)}`;
      const text =
        p.stage === 'downloading'
          ? `file ${p.step} of ${p.steps} · ${bytes}`
          : p.stage === 'verifying'
            ? `sha-256, file ${p.step} of ${p.steps}${p.fromCache ? ' (from cache)' : ''}`
            : `${graphName(p.file)}, graph ${p.step} of ${p.steps}`;
      setLine(p, text);
      if (p.stage === 'verifying' && p.fromCache)
        lines.get('downloading')!.lastElementChild!.textContent = 'cached';
      summary.textContent = `${STAGES.find((s) => s.stage === p.stage)?.label} ${text}`;
    },
    ready(info, pageMs) {
      bar.max = info.bytes;
      bar.value = info.bytes;
      for (const { stage } of STAGES) {
        const li = lines.get(stage)!;
        li.className = 'done';
        li.lastElementChild!.textContent = fmtSeconds(info.stageMs[stage]);
      }
      const where = [...new Set(info.placements.map((p) => p.backend))].join(' + ');
      summary.textContent = `ready at ${fmtSeconds(pageMs)} · ${fmtMB(info.bytes)} · ${where}`;
      element.dataset.state = 'ready';
      element.dataset.stageMs = JSON.stringify(info.stageMs);
    },
    failed(e) {
      element.dataset.state = 'failed';
      summary.textContent = 'failed';
      element.append(errorView(e));
    },
  };
}
