// Which graph files a load asks for: the dtype picks the variant (transformers.js naming), and a folder
// without that variant is refused before anything is fetched or compiled.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { BackendSelector } from '../../src/engine/select';
import { WebvlError } from '../../src/errors';
import { ModelStore } from '../../src/models/model-store';
import { loadModel } from '../../src/pipelines/loaded-model';

const BASE = 'http://app.test/';

function folder(files: string[]) {
  const bytes = new TextEncoder().encode('{}');
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const manifest = {
    version: 1,
    files: Object.fromEntries(files.map((f) => [f, { size: bytes.length, sha256 }])),
  };
  const requests: string[] = [];
  const fetchFn = (async (input: RequestInfo | URL) => {
    requests.push(String(input));
    if (String(input).endsWith('manifest.json')) return new Response(JSON.stringify(manifest));
    return new Response(bytes);
  }) as typeof fetch;
  return { fetchFn, requests };
}

// loadModel must decide before it touches a backend; a selector that throws proves it does not.
const noSelector = new Proxy({} as BackendSelector, {
  get() {
    throw new Error('the selector must not be used');
  },
});

const JSONS = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'preprocessor_config.json'];

describe('loadModel dtype', () => {
  it('fp16 on a folder with only fp32 graphs → MODEL_NOT_FOUND naming the missing file, nothing fetched', async () => {
    const { fetchFn, requests } = folder([...JSONS, 'onnx/vision_model.onnx', 'onnx/text_model.onnx']);
    const store = await ModelStore.open('/models/m', { baseUrl: BASE, cache: null, fetch: fetchFn });
    let error: unknown;
    try {
      await loadModel(store, noSelector, 'fp16');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(WebvlError);
    expect((error as WebvlError).code).toBe('MODEL_NOT_FOUND');
    expect((error as WebvlError).message).toContain('onnx/vision_model_fp16.onnx');
    expect(requests).toEqual([`${BASE}models/m/manifest.json`]);
  });

  it('a BLIP folder is recognised from its fp16 graphs alone', async () => {
    const graphs = ['vision_model', 'text_model', 'itm_model', 'decoder_model', 'decoder_with_past_model'];
    const { fetchFn } = folder([...JSONS, ...graphs.map((g) => `onnx/${g}_fp16.onnx`)]);
    const store = await ModelStore.open('/models/m', { baseUrl: BASE, cache: null, fetch: fetchFn });
    // BLIP needs generation_config.json, which this folder lacks: the failure shows which kind was detected.
    await expect(loadModel(store, noSelector, 'fp16')).rejects.toThrow(/generation_config\.json/);
  });
});
