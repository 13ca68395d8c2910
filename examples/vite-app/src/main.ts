import { createRuntime, isWebvlError } from 'webvl';

const log = (line: string) => document.querySelector('#log')!.append(`${line}\n`);

// One Web Worker per runtime. 'auto' runs webvl's WebGPU engine on a GPU and onnxruntime-web's wasm elsewhere;
// rt.info() says which and why, and how many wasm threads (one unless the page is cross-origin isolated).
const rt = await createRuntime({ backend: 'auto' });
// Fetched once and sha256-verified, then read from Cache Storage; every graph is compiled and run once.
await rt.load('/models/blip-tiny/', { onProgress: (p) => log(`${p.stage}: ${p.file}`) });
const info = await rt.info();
log(`backend ${info.backend} (${info.backendReason}); ${info.wasm.reason}`);

// A File, Blob, ImageBitmap, ImageData, <img>, canvas or same-origin URL.
const image = await (await fetch('/scene.png')).blob();
const labels = await rt.classify(image, ['red circle', 'blue circle', 'blue square', 'green star'], {
  template: 'a large {}', // '{}' is replaced by each label
});
const caption = await rt.caption(image, { onToken: (t) => log(`caption so far: ${t.text}`) });
const [match] = await rt.match(image, ['a large blue circle']); // ITC cosine + ITM probability
const [vector] = await rt.embedText('a small green star'); // unit-length Float32Array

const index = await rt.openIndex('example'); // persisted in IndexedDB, searched on the GPU if there is one
await index.upsert([{ id: 'scene', image }]); // all or nothing; add() refuses an id the index holds
const hits = await index.search('a blue circle', { k: 1, rerank: true }); // ITC top-k, then ITM re-rank

try {
  await rt.classify(image, []);
} catch (e) {
  if (isWebvlError(e)) log(`typed error: ${e.code}`); // EMPTY_LABELS; others: BAD_IMAGE, TEXT_TOO_LONG, …
}

const result = { labels, caption: caption.text, match, dimensions: vector.length, hits };
document.querySelector('#result')!.textContent = JSON.stringify(result, null, 2);
