// What each runtime runs on and why: backend, adapter, wasm threads, the model and the last request's timings.
import type { Runtime } from '../api/runtime';
import { fmtMB, fmtMs, h } from './dom';

export async function renderDeviceInfo(
  el: HTMLElement,
  runtimes: Readonly<Record<string, Runtime>>,
): Promise<void> {
  const rows: HTMLElement[] = [];
  for (const [name, rt] of Object.entries(runtimes)) {
    const info = await rt.info();
    const a = info.adapter;
    const gpu = info.webgpu
      ? `${a?.vendor} ${a?.architecture}${a?.software ? ' (a software adapter)' : ''}`
      : 'no WebGPU adapter';
    rows.push(
      h(
        'div',
        { class: 'device-row' },
        h('strong', {}, name.toUpperCase()),
        h('div', {}, `backend ${info.backend}: ${info.backendReason}`),
        h('div', { class: 'muted' }, `${info.backendDescription}; WebGPU: ${gpu}; ${info.wasm.reason}`),
        info.model
          ? h(
              'div',
              { class: 'muted' },
              `${info.model.url} (${info.model.dtype}, ${fmtMB(info.model.bytes)}), preprocessing on the ${info.model.preprocessing.toUpperCase()}`,
            )
          : '',
        info.lastTimings ? h('div', { class: 'muted' }, `last request: ${fmtMs(info.lastTimings)}`) : '',
      ),
    );
  }
  el.replaceChildren(...rows);
}
