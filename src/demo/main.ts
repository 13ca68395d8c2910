// webvl demo: zero-shot classification (CLIP), captioning, retrieval and CapFilt (BLIP), each model in its own
// runtime worker; progress bars while models load; offline after the first visit.
import { createRuntime, type Runtime } from '../api/runtime';
import type { LoadProgress } from '../api/types';
import { byId, errorText, h } from './dom';
import { loadGallery } from './gallery';
import { createImagePicker } from './image-picker';
import { modelUrlForm } from './model-url';
import { enableOffline } from './offline';
import { capfiltPanel, captionPanel, classifyPanel, renderDeviceInfo, retrievalPanel } from './panels';

const MODELS = { clip: 'models/clip-tiny/', blip: 'models/blip-tiny/' } as const;

function progressBar(label: string): { element: HTMLElement; update(p: LoadProgress): void } {
  const bar = h('progress', { value: '0', max: '1', id: `progress-${label}` });
  const text = h('span', {}, ' waiting');
  return {
    element: h('div', {}, `${label}: `, bar, text),
    update(p) {
      bar.max = p.total;
      bar.value = p.loaded;
      text.textContent = ` ${(p.loaded / 1e6).toFixed(2)} / ${(p.total / 1e6).toFixed(2)} MB${p.fromCache ? ' (from cache)' : ''} — ${p.file}`;
    },
  };
}

async function main(): Promise<void> {
  const app = byId('app');
  const status = h('p', { id: 'status' }, 'starting…');
  const loading = h('section', { class: 'panel', id: 'loading' }, h('h2', {}, 'Models'));
  app.replaceChildren(
    h('h1', {}, 'webvl — vision-language models in your browser'),
    status,
    h(
      'section',
      { class: 'panel' },
      h('h2', {}, 'Device, backend, timings'),
      h('div', { id: 'device' }, '…'),
    ),
    loading,
  );
  const offline = await enableOffline();
  const params = new URLSearchParams(location.search);
  const backend = (params.get('backend') ?? 'auto') as 'auto' | 'wasm' | 'ort-webgpu' | 'webgpu';
  const runtimes: Record<string, Runtime> = {};
  const loads = Object.entries(MODELS).map(async ([name, url]) => {
    const bar = progressBar(name);
    loading.append(bar.element);
    const rt = await createRuntime({ backend, onProgress: bar.update });
    runtimes[name] = rt;
    // Online: revalidate the manifest (one small request) to pick up re-exported weights; offline: cache only.
    await rt.load(`${import.meta.env.BASE_URL}${url}`, { refresh: navigator.onLine });
    return rt;
  });
  const [clip, blip] = await Promise.all(loads);
  // The whole shipped gallery (1,000 scenes) by default; ?gallery=N indexes fewer (the browser tests use 200).
  const gallery = await loadGallery(Number(params.get('gallery') ?? 1000));
  const picker = createImagePicker(gallery);
  loading.append(modelUrlForm(clip, `${import.meta.env.BASE_URL}${MODELS.clip}`));
  app.append(
    picker.element,
    classifyPanel(clip, picker),
    captionPanel(blip, picker),
    retrievalPanel(blip, gallery),
    capfiltPanel(blip, gallery),
  );
  await renderDeviceInfo(runtimes);
  document.addEventListener('click', () => void renderDeviceInfo(runtimes), { capture: false });
  status.textContent = `ready · ${offline}`;
  status.dataset.ready = 'true';
}

main().catch((e) => {
  const s = document.getElementById('status');
  if (s) s.textContent = `failed: ${errorText(e)}`;
});
