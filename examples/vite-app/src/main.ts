import { createRuntime, isWebvlError } from 'webvl';

const log = (line: string) => document.querySelector('#log')!.append(`${line}\n`);

// One Web Worker per runtime. 'auto' runs webvl's WebGPU engine on a GPU, onnxruntime-web's wasm elsewhere;
// rt.info() says which and why, and how many wasm threads (one unless the page is cross-origin isolated).
const rt = await createRuntime({ backend: 'auto' });
await rt.load('/models/blip-tiny/', {
  // Fetched once, sha256-verified, then read from Cache Storage.
  onProgress: (p) => log(`${p.stage}: ${p.file}`),
});
const info = await rt.info();
log(`backend ${info.backend} (${info.backendReason}); ${info.wasm.reason}`);

// A File, Blob, ImageBitmap, ImageData, <img>, canvas or same-origin URL.
const image = await (await fetch('/scene.png')).blob();
const labels = await rt.classify(image, ['red circle', 'blue circle', 'blue square', 'green star'], {
  template: 'a large {}', // '{}' is replaced by each label
});
const caption = await rt.caption(image, { onToken: (t) => log(`caption so far: ${t.text}`) });

try {
  await rt.classify(image, []);
} catch (e) {
  if (isWebvlError(e)) log(`typed error: ${e.code}`); // EMPTY_LABELS; BAD_IMAGE, TEXT_TOO_LONG, …
}

document.querySelector('#result')!.textContent = JSON.stringify({ labels, caption: caption.text }, null, 2);
