// Demo entry point; the panels arrive with the runtime (issue 5). For now it reports the WebGPU adapter.
const app = document.getElementById('app');

async function describeGpu(): Promise<string> {
  if (!navigator.gpu) return 'WebGPU is not available in this browser.';
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) return 'WebGPU is present but no adapter was found.';
  const { vendor, architecture, description } = adapter.info;
  return `WebGPU adapter: ${[vendor, architecture, description].filter(Boolean).join(' · ')}`;
}

if (app) {
  app.innerHTML = '<h1>webvl</h1><p id="gpu">Looking for a GPU…</p>';
  describeGpu().then((text) => {
    const el = document.getElementById('gpu');
    if (el) el.textContent = text;
  });
}
