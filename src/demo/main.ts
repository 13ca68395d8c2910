// webvl demo: zero-shot classification (CLIP), captioning, retrieval and CapFilt (BLIP), questions about the
// image (llava-tiny), each model in its own runtime worker. The page is usable at once: the image picker works
// while the models load, each model says which stage it is in, and each task's button comes alive when its
// model is ready. The Ask model loads when its tab is first opened. Offline after a visit.
import { createRuntime, type Runtime } from '../api/runtime';
import { askPanel } from './ask-panel';
import { capfiltPanel } from './capfilt-panel';
import { captionPanel } from './caption-panel';
import { classifyPanel } from './classify-panel';
import { renderDeviceInfo } from './device-panel';
import { fmtSeconds, h } from './dom';
import { errorView } from './error-view';
import { loadGallery } from './gallery';
import { createImagePicker } from './image-picker';
import { modelStatus } from './model-status';
import { modelUrlForm } from './model-url';
import { enableOffline } from './offline';
import { searchPanel } from './search-panel';
import { tabs } from './tabs';
import './style.css';

const MODELS = {
  clip: { url: 'models/clip-tiny/', title: 'CLIP', role: 'classification' },
  blip: { url: 'models/blip-tiny/', title: 'BLIP', role: 'captions, search, CapFilt' },
  llava: { url: 'models/llava-tiny/', title: 'LLaVA', role: 'questions (loads with the Ask tab)' },
} as const;
type ModelName = keyof typeof MODELS;
const BACKENDS = ['auto', 'webgpu', 'ort-webgpu', 'wasm'] as const;

function startModel(
  name: ModelName,
  backend: (typeof BACKENDS)[number],
  into: HTMLElement,
): Promise<Runtime> {
  const m = MODELS[name];
  const status = modelStatus(name, m.title, m.role);
  into.append(status.element);
  const started = (async () => {
    const rt = await createRuntime({ backend, onProgress: status.update });
    // Online: revalidate the manifest (one small request) to pick up re-exported weights; offline: cache only.
    const info = await rt.load(`${import.meta.env.BASE_URL}${m.url}`, { refresh: navigator.onLine });
    status.ready(info, performance.now());
    return rt;
  })();
  started.catch((e) => status.failed(e));
  return started;
}

function backendPicker(current: string): HTMLElement {
  const select = h('select', { id: 'backend', 'aria-label': 'backend' });
  for (const b of BACKENDS)
    select.append(h('option', b === current ? { value: b, selected: '' } : { value: b }, b));
  select.addEventListener('change', () => {
    const params = new URLSearchParams(location.search);
    params.set('backend', select.value);
    location.search = params.toString();
  });
  return h('label', {}, 'Backend ', select);
}

async function main(): Promise<void> {
  const app = document.getElementById('app')!;
  const params = new URLSearchParams(location.search);
  const asked = params.get('backend') ?? 'auto';
  const backend = (BACKENDS as readonly string[]).includes(asked)
    ? (asked as (typeof BACKENDS)[number])
    : 'auto';
  const status = h('p', { id: 'status', class: 'status', 'aria-live': 'polite' }, 'Loading the models…');
  const models = h('div', { class: 'models', id: 'models' });
  const device = h('div', { id: 'device' }, 'Appears once the models are loaded.');
  const deviceDetails = h(
    'details',
    { class: 'device', id: 'device-details' },
    h('summary', {}, 'Device, backend and timings'),
    backendPicker(backend),
    device,
  );
  app.replaceChildren(
    h(
      'header',
      { class: 'hero' },
      h('h1', {}, 'webvl ', h('span', { class: 'muted' }, 'vision-language models in your browser')),
      h(
        'p',
        { class: 'tagline' },
        'Pick an image, then ask small models about it: which label fits (CLIP), what caption it gets ' +
          'and which gallery scenes match a text (BLIP), or any question (LLaVA, in the Ask tab). They run in ' +
          'this tab on WebGPU or WebAssembly; no image leaves your device.',
      ),
      models,
      status,
    ),
  );

  // Start the models first: everything else on the page can happen while they load.
  const runtimes = { clip: startModel('clip', backend, models), blip: startModel('blip', backend, models) };
  const loaded: Partial<Record<ModelName, Runtime>> = {};
  const refreshDevice = () => void renderDeviceInfo(device, loaded).catch(() => undefined);
  const track = (name: ModelName, rt: Promise<Runtime>) =>
    rt
      .then((r) => {
        loaded[name] = r;
        refreshDevice();
      })
      .catch(() => undefined);
  for (const [name, rt] of Object.entries(runtimes) as [ModelName, Promise<Runtime>][]) track(name, rt);
  // The generative model is the largest and only one tab needs it: it starts when that tab is first opened.
  let startAsk: () => void = () => undefined;
  const askRuntime = new Promise<Runtime>((resolve, reject) => {
    startAsk = () => {
      const rt = startModel('llava', backend, models);
      track('llava', rt);
      rt.then(resolve, reject);
    };
  });
  askRuntime.catch(() => undefined);

  // The whole shipped gallery (1,000 scenes) by default; ?gallery=N indexes fewer (the browser tests use 200).
  const gallery = await loadGallery(Number(params.get('gallery') ?? 1000));
  const picker = createImagePicker(gallery);
  app.append(
    h(
      'main',
      { class: 'layout' },
      picker.element,
      h(
        'section',
        { class: 'card tasks', 'aria-labelledby': 'tasks-title' },
        h('h2', { id: 'tasks-title' }, h('span', { class: 'step' }, '2'), 'Ask about it'),
        tabs([
          { id: 'classify', label: 'Classify', panel: classifyPanel(runtimes.clip, picker, refreshDevice) },
          { id: 'caption', label: 'Caption', panel: captionPanel(runtimes.blip, picker, refreshDevice) },
          { id: 'search', label: 'Search', panel: searchPanel(runtimes.blip, gallery, refreshDevice) },
          { id: 'capfilt', label: 'CapFilt', panel: capfiltPanel(runtimes.blip, gallery, refreshDevice) },
          {
            id: 'ask',
            label: 'Ask',
            panel: askPanel(askRuntime, picker, refreshDevice),
            onFirstShow: () => startAsk(),
          },
        ]),
      ),
    ),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'own-model-title' },
      h('h2', { id: 'own-model-title' }, 'Your own model'),
      modelUrlForm(runtimes.clip, `${import.meta.env.BASE_URL}${MODELS.clip.url}`),
    ),
    deviceDetails,
  );

  try {
    await Promise.all(Object.values(runtimes));
  } catch (e) {
    status.replaceChildren(errorView(e));
    return;
  }
  const readyAt = performance.now();
  status.textContent = `Ready in ${fmtSeconds(readyAt)}. Making the page work offline…`;
  status.dataset.readyAt = readyAt.toFixed(1);
  status.dataset.ready = 'true';
  // Registered once the models are up, so it never competes with them; the runtime workers' own files
  // (onnxruntime-web's binary) are not in the page's resource list, so they are named explicitly.
  const offline = await enableOffline([
    `${import.meta.env.BASE_URL}ort/ort-wasm-simd-threaded.asyncify.wasm`,
  ]);
  status.textContent = `Ready in ${fmtSeconds(readyAt)}. ${offline.message}`;
  if (offline.ok) status.dataset.offline = 'true';
}

main().catch((e) => {
  document.getElementById('status')?.replaceChildren(errorView(e));
});
