// Which files a load reads, by family (config.json) and dtype (transformers.js naming), for folders with and
// without a manifest; and the typed errors for what cannot be loaded. The backend is a recorder: each graph
// "file" holds its own name, so what was compiled can be read back.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ExternalData, Session } from '../../src/engine/backend';
import type { BackendSelector } from '../../src/engine/select';
import { WebvlError } from '../../src/errors';
import { MemoryByteCache } from '../../src/models/byte-cache';
import { pickDType } from '../../src/models/dtype';
import { openModelFolder } from '../../src/models/model-folder';
import type { LoadProgress } from '../../src/models/model-store';
import { loadModel } from '../../src/pipelines/loaded-model';
import { familyOf } from '../../src/pipelines/model-family';
import { fakeServer, utf8 } from '../support/fake-folder-server';
import { onnx } from '../support/onnx-proto';

const BASE = 'http://app.test/';
const DIR = `${BASE}models/m/`;
const TOKENIZER = readFileSync('models/blip-tiny/tokenizer.json');
const PROCESSOR = {
  size: { height: 8, width: 8 },
  resample: 3,
  image_mean: [0.5, 0.5, 0.5],
  image_std: [0.5, 0.5, 0.5],
};

function serve(config: object, graphs: string[], extra: Record<string, Uint8Array> = {}) {
  const files: Record<string, Uint8Array> = {
    [`${DIR}config.json`]: utf8(JSON.stringify(config)),
    [`${DIR}preprocessor_config.json`]: utf8(JSON.stringify(PROCESSOR)),
    [`${DIR}tokenizer.json`]: new Uint8Array(TOKENIZER),
    ...extra,
  };
  for (const g of graphs) files[`${DIR}${g}`] = utf8(g);
  return fakeServer(files);
}

/** A selector whose backend records the graphs it is given and runs nothing. */
function recorder(backend: 'wasm' | 'webgpu' = 'wasm') {
  const compiled: Record<string, string> = {};
  const externals: Record<string, ExternalData | undefined> = {};
  const session: Session = {
    inputNames: [],
    outputNames: [],
    run: async () => ({}),
    lastRunStats: () => undefined,
    release: async () => undefined,
  };
  const selector = {
    decision: { name: backend, reason: 'test' },
    async load(model: Uint8Array, { label, externalData }: { label: string; externalData?: ExternalData }) {
      compiled[label] = new TextDecoder().decode(model);
      externals[label] = externalData;
      return session;
    },
    pixelPipeline: async () => undefined,
    prepare: async () => undefined,
  } as unknown as BackendSelector;
  return { selector, compiled, externals };
}

async function load(server: ReturnType<typeof serve>, options: Parameters<typeof loadModel>[2] = {}) {
  const rec = recorder();
  const folder = await openModelFolder('/models/m', { baseUrl: BASE, cache: null, fetch: server.fetchFn });
  // The recorded sessions run nothing, so the warm-up run is left out.
  const model = await loadModel(folder, rec.selector, { warmUp: false, ...options });
  return {
    model,
    compiled: rec.compiled,
    externals: rec.externals,
    requests: server.requests.map((u) => u.replace(DIR, '')),
  };
}

async function failure(p: Promise<unknown>): Promise<WebvlError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof WebvlError) return e;
    throw e;
  }
  throw new Error('expected a failure');
}

const TOWERS = ['onnx/vision_model.onnx', 'onnx/text_model.onnx'];
const ALL_CLIP = [...TOWERS, 'onnx/model.onnx'];

describe('family by config.json', () => {
  it('model_type, else architectures; anything else is UNSUPPORTED_MODEL naming it', () => {
    expect(familyOf({ model_type: 'siglip' })).toBe('siglip');
    expect(familyOf({ architectures: ['BlipForConditionalGeneration'] })).toBe('blip');
    expect(familyOf({ architectures: ['LlavaForConditionalGeneration'] })).toBe('llava');
    expect(familyOf({ architectures: ['ViltForQuestionAnswering'] })).toBe('vilt');
    expect(familyOf({ model_type: 'vlmo' })).toBe('vlmo');
    expect(familyOf({ architectures: ['CoCaModel'] })).toBe('coca');
    expect(familyOf({ model_type: 'qwen2_vl' })).toBe('llava');
    expect(familyOf({ architectures: ['Qwen2VLForConditionalGeneration'] })).toBe('llava');
    expect(familyOf({ model_type: 'gemma3' })).toBe('llava');
    expect(familyOf({ architectures: ['PaliGemmaForConditionalGeneration'] })).toBe('llava');
    expect(familyOf({ model_type: 'llava_qwen2' })).toBe('llava');
    expect(familyOf({ model_type: 'qwen3_vl' })).toBe('llava');
    expect(familyOf({ architectures: ['Lfm2VlForConditionalGeneration'] })).toBe('llava');
    const e = (() => {
      try {
        familyOf({
          model_type: 'llava_onevision',
          architectures: ['LlavaOnevisionForConditionalGeneration'],
        });
      } catch (x) {
        return x as WebvlError;
      }
    })();
    expect(e?.code).toBe('UNSUPPORTED_MODEL');
    expect(e?.message).toContain("model_type 'llava_onevision'");
    expect(e?.message).toContain('LlavaOnevisionForConditionalGeneration');
  });

  it('a folder naming an unknown family is refused before any graph or processor file is asked for', async () => {
    const server = serve({ model_type: 'llama' }, ['onnx/model.onnx']);
    const e = await failure(load(server));
    expect(e.code).toBe('UNSUPPORTED_MODEL');
    expect(e.message).toContain("'llama'");
    expect(server.requests.map((u) => u.replace(DIR, ''))).toEqual(['manifest.json', 'config.json']);
  });

  it('a missing config.json, tokenizer.json or processor config is MODEL_NOT_FOUND naming the file', async () => {
    const noConfig = fakeServer({});
    const e1 = await failure(load(noConfig as ReturnType<typeof serve>));
    expect(e1.code).toBe('MODEL_NOT_FOUND');
    expect(e1.message).toContain('config.json');
    const files: Record<string, Uint8Array> = {
      [`${DIR}config.json`]: utf8('{"model_type":"clip"}'),
      [`${DIR}tokenizer.json`]: new Uint8Array(TOKENIZER),
    };
    const e2 = await failure(load(fakeServer(files) as ReturnType<typeof serve>));
    expect(e2.code).toBe('MODEL_NOT_FOUND');
    expect(e2.message).toContain('preprocessor_config.json');
  });
});

describe('graphs per family', () => {
  it('clip with the trained logit_scale in config.json: the separate towers, softmax with that scale', async () => {
    const { model, compiled, requests } = await load(serve({ model_type: 'clip', logit_scale: 2 }, ALL_CLIP));
    expect(compiled).toEqual({ vision: TOWERS[0], text: TOWERS[1] });
    expect(model.scoring).toMatchObject({ kind: 'softmax', scale: Math.exp(2), bias: 0, source: 'config' });
    expect(requests).not.toContain('onnx/model.onnx');
    expect(model.verified).toBe(false);
  });

  it('clip as transformers.js ships it (no logit_scale): the combined model.onnx, whose logits carry the scale', async () => {
    const { model, compiled, requests } = await load(serve({ model_type: 'clip' }, ALL_CLIP));
    expect(compiled).toEqual({ combined: 'onnx/model.onnx' });
    expect(model.scoring.source).toBe('combined graph');
    expect(requests.filter((r) => r.endsWith('.onnx'))).toEqual(['onnx/model.onnx']);
  });

  it('clip towers without a scale and without model.onnx: towers with the initial scale, said in scoring.source', async () => {
    const { model, compiled } = await load(
      serve({ model_type: 'clip', logit_scale_init_value: 1.5 }, TOWERS),
    );
    expect(Object.keys(compiled).sort()).toEqual(['text', 'vision']);
    expect(model.scoring).toMatchObject({ scale: Math.exp(1.5), source: 'initial values' });
  });

  it('siglip: sigmoid scoring; towers only with both logit_scale and logit_bias; text padded to max_length', async () => {
    const cfg = { model_type: 'siglip', text_config: { max_position_embeddings: 16 } };
    const combined = await load(serve({ ...cfg, logit_scale: 1 }, ALL_CLIP)); // no bias: combined
    expect(combined.compiled).toEqual({ combined: 'onnx/model.onnx' });
    expect(combined.model.scoring.kind).toBe('sigmoid');
    const towers = await load(serve({ ...cfg, logit_scale: 1, logit_bias: -3 }, ALL_CLIP));
    expect(towers.compiled).toEqual({ vision: TOWERS[0], text: TOWERS[1] });
    expect(towers.model.scoring).toMatchObject({ kind: 'sigmoid', scale: Math.E, bias: -3 });
    expect(towers.model.embeddings).toEqual({
      image: 'pooler_output',
      text: 'pooler_output',
      tokens: 'last_hidden_state',
    });
    // No tokenizer_config.json (so no model_max_length): the text tower's positions decide.
    expect(towers.model.textLength).toBe(16);
  });

  it("blip: the heads' graphs named by architectures; generation settings as transformers' generate uses them", async () => {
    const graphs = ['vision_model', 'text_model', 'itm_model', 'decoder_model'].map((g) => `onnx/${g}.onnx`);
    const text_config = { bos_token_id: 5, sep_token_id: 3, eos_token_id: 2, pad_token_id: 0 };
    const both = await load(
      serve(
        {
          model_type: 'blip',
          architectures: ['BlipForImageTextRetrieval', 'BlipForConditionalGeneration'],
          text_config,
        },
        graphs,
      ),
    );
    expect(Object.keys(both.compiled).sort()).toEqual(['decoder', 'itm', 'text', 'vision']);
    expect(both.model.generation).toEqual({ bosTokenId: 5, eosTokenId: 3, padTokenId: 0, maxLength: 20 });
    const captioning = await load(
      serve({ model_type: 'blip', architectures: ['BlipForConditionalGeneration'], text_config }, graphs),
    );
    expect(Object.keys(captioning.compiled).sort()).toEqual(['decoder', 'vision']);
    expect(captioning.requests).not.toContain('onnx/itm_model.onnx');
    const retrieval = await load(
      serve({ model_type: 'blip', architectures: ['BlipForImageTextRetrieval'] }, graphs.slice(0, 3)),
    );
    expect(Object.keys(retrieval.compiled).sort()).toEqual(['itm', 'text', 'vision']);
    expect(retrieval.model.generation).toBeUndefined();
  });

  it("Optimum's layout (optimum-cli export onnx, ORTModel.save_pretrained): graphs at the folder's root, onnx/ first where both are", async () => {
    const root = await load(serve({ model_type: 'clip' }, ['model.onnx', 'model_quantized.onnx']));
    expect(root.compiled).toEqual({ combined: 'model.onnx' });
    expect(root.model.graphs.map((g) => g.file)).toEqual(['model.onnx']);
    expect(root.requests.filter((r) => r.endsWith('.onnx'))).toEqual(['onnx/model.onnx', 'model.onnx']);
    const q8 = await load(serve({ model_type: 'clip' }, ['model.onnx', 'model_quantized.onnx']), {
      dtype: 'q8',
    });
    expect(q8.compiled).toEqual({ combined: 'model_quantized.onnx' });
    const both = await load(serve({ model_type: 'clip' }, ['model.onnx', 'onnx/model.onnx']));
    expect(both.compiled).toEqual({ combined: 'onnx/model.onnx' });
    const none = await failure(load(serve({ model_type: 'clip' }, ['onnx/text_model.onnx'])));
    expect(none.code).toBe('MODEL_NOT_FOUND');
    expect(none.message).toContain('nor at its root');
  });

  it('a graph the family needs and the folder lacks is MODEL_NOT_FOUND naming the file', async () => {
    const e = await failure(
      load(
        serve({ model_type: 'blip', architectures: ['BlipForImageTextRetrieval'] }, [
          'onnx/vision_model.onnx',
          'onnx/text_model.onnx',
        ]),
      ),
    );
    expect(e.code).toBe('MODEL_NOT_FOUND');
    expect(e.message).toContain('onnx/itm_model.onnx');
    expect(e.message).not.toContain('text_model');
    const clip = await failure(
      load(serve({ model_type: 'clip', logit_scale: 1 }, ['onnx/vision_model.onnx'])),
    );
    expect(clip.message).toContain('onnx/text_model.onnx');
    expect(clip.message).toContain('onnx/model.onnx');
    expect(clip.message).not.toContain('vision_model');
  });

  it('processor values we do not implement are UNSUPPORTED_MODEL before any graph is fetched', async () => {
    const server = serve({ model_type: 'clip' }, ALL_CLIP, {
      [`${DIR}preprocessor_config.json`]: utf8(JSON.stringify({ ...PROCESSOR, resample: 4 })),
    });
    const e = await failure(load(server));
    expect(e.code).toBe('UNSUPPORTED_MODEL');
    expect(e.message).toContain('box');
    expect(server.requests.some((r) => r.endsWith('.onnx'))).toBe(false);
  });
});

describe('external-data files (use_external_data_format)', () => {
  // clip-export's towers re-saved by Python's onnx with every tensor external (make_external_data_corpus.py).
  const EXT = 'tests/corpus/hf/clip-external/onnx/';
  const GRAPHS = ['vision_model.onnx', 'text_model.onnx'];
  const DATA = ['vision_model.onnx.data', 'text_model.onnx_data', 'text_model.onnx_data_1'];
  const bytesOf = (f: string) => new Uint8Array(readFileSync(`${EXT}${f}`));
  const CONFIG = {
    model_type: 'clip',
    logit_scale: 2,
    'transformers.js_config': { use_external_data_format: { model: 1, text_model: 2 } },
  };
  const folderWith = (files: Record<string, Uint8Array>) =>
    serve(CONFIG, [], Object.fromEntries(Object.entries(files).map(([f, b]) => [`${DIR}onnx/${f}`, b])));
  const allFiles = () => Object.fromEntries([...GRAPHS, ...DATA].map((f) => [f, bytesOf(f)]));

  it('each graph is compiled with the files its tensors name, each read right after its graph and counted in byte progress', async () => {
    const progress: LoadProgress[] = [];
    const { externals, requests, model } = await load(folderWith(allFiles()), {
      onProgress: (p) => progress.push(p),
    });
    expect(Object.keys(externals).sort()).toEqual(['text', 'vision']);
    const asRecord = (d: ExternalData | undefined) => Object.fromEntries(d instanceof Map ? d : []);
    expect(asRecord(externals.vision)).toEqual({
      'vision_model.onnx.data': bytesOf('vision_model.onnx.data'),
    });
    expect(asRecord(externals.text)).toEqual({
      'text_model.onnx_data': bytesOf('text_model.onnx_data'),
      'text_model.onnx_data_1': bytesOf('text_model.onnx_data_1'),
    });
    expect(requests.filter((r) => r.startsWith('onnx/'))).toEqual([
      'onnx/vision_model.onnx',
      'onnx/text_model.onnx',
      'onnx/vision_model.onnx.data',
      'onnx/text_model.onnx_data',
      'onnx/text_model.onnx_data_1',
    ]);
    // Opened (above) as planned; read each graph, then its data files, so a graph compiles as the next downloads.
    const downloads = progress.filter((p) => p.stage === 'downloading').map((p) => p.file);
    expect([...new Set(downloads)].filter((f) => f.startsWith('onnx/'))).toEqual([
      'onnx/vision_model.onnx',
      'onnx/vision_model.onnx.data',
      'onnx/text_model.onnx',
      'onnx/text_model.onnx_data',
      'onnx/text_model.onnx_data_1',
    ]);
    const graphBytes = [...GRAPHS, ...DATA].reduce((s, f) => s + bytesOf(f).length, 0);
    const last = progress.filter((p) => p.stage === 'downloading').at(-1);
    expect(last?.file).toBe('onnx/text_model.onnx_data_1');
    expect(last?.loaded).toBe(last?.total);
    expect(model.bytes).toBe(last?.total); // every file counted once
    expect(model.bytes).toBeGreaterThan(graphBytes);
    expect(progress.every((p) => p.loaded <= p.total)).toBe(true);
    expect(model.graphs).toEqual([
      {
        role: 'vision',
        file: 'onnx/vision_model.onnx',
        dtype: 'fp32',
        externalData: ['onnx/vision_model.onnx.data'],
      },
      {
        role: 'text',
        file: 'onnx/text_model.onnx',
        dtype: 'fp32',
        externalData: ['onnx/text_model.onnx_data', 'onnx/text_model.onnx_data_1'],
      },
    ]);
  });

  it('with a manifest, data files are verified like the graphs: a changed byte is INTEGRITY_MISMATCH', async () => {
    const files: Record<string, Uint8Array> = allFiles();
    const all: Record<string, Uint8Array> = {
      'config.json': utf8(JSON.stringify(CONFIG)),
      'preprocessor_config.json': utf8(JSON.stringify(PROCESSOR)),
      'tokenizer.json': new Uint8Array(TOKENIZER),
      ...Object.fromEntries(Object.entries(files).map(([f, b]) => [`onnx/${f}`, b])),
    };
    const manifest = {
      version: 1,
      files: Object.fromEntries(
        Object.entries(all).map(([f, b]) => [
          f,
          { size: b.length, sha256: createHash('sha256').update(b).digest('hex') },
        ]),
      ),
    };
    const served = (bytes: Record<string, Uint8Array>) =>
      fakeServer({
        [`${DIR}manifest.json`]: utf8(JSON.stringify(manifest)),
        ...Object.fromEntries(Object.entries(bytes).map(([f, b]) => [`${DIR}${f}`, b])),
      });
    const { model, externals } = await load(served(all));
    expect(model.verified).toBe(true);
    expect(externals.text instanceof Map && [...externals.text.keys()]).toEqual([
      'text_model.onnx_data',
      'text_model.onnx_data_1',
    ]);
    const tampered = all['onnx/text_model.onnx_data_1'].slice();
    tampered[100] ^= 1;
    const e = await failure(load(served({ ...all, 'onnx/text_model.onnx_data_1': tampered })));
    expect(e.code).toBe('INTEGRITY_MISMATCH');
    expect(e.message).toContain('onnx/text_model.onnx_data_1');
  });

  it('data files are cached with the graphs: a second load of the folder makes no request', async () => {
    const server = folderWith(allFiles());
    const cache = new MemoryByteCache();
    const open = () => openModelFolder('/models/m', { baseUrl: BASE, cache, fetch: server.fetchFn });
    const first = recorder();
    await loadModel(await open(), first.selector, { warmUp: false });
    const requests = server.requests.length;
    expect(server.requests.some((r) => r.endsWith('text_model.onnx_data_1'))).toBe(true);
    const second = recorder();
    await loadModel(await open(), second.selector, { warmUp: false });
    expect(server.requests.length).toBe(requests);
    expect(second.externals).toEqual(first.externals);
  });

  it('a data file the folder lacks is MODEL_NOT_FOUND naming it and its graph', async () => {
    const files = allFiles();
    delete files['text_model.onnx_data_1'];
    const e = await failure(load(folderWith(files)));
    expect(e.code).toBe('MODEL_NOT_FOUND');
    expect(e.message).toContain('onnx/text_model.onnx_data_1');
    expect(e.message).toContain('external data of onnx/text_model.onnx');
    expect(e.details?.files).toEqual(['onnx/text_model.onnx_data_1']);
  });

  it('a location that leaves the folder is INVALID_MODEL, and nothing is fetched for it', async () => {
    const files: Record<string, Uint8Array> = allFiles();
    const model = onnx.ModelProto.decode(files['vision_model.onnx']);
    for (const t of model.graph?.initializer ?? [])
      for (const entry of t.externalData ?? []) if (entry.key === 'location') entry.value = '../config.json';
    files['vision_model.onnx'] = onnx.ModelProto.encode(model).finish();
    const server = folderWith(files);
    const e = await failure(load(server));
    expect(e.code).toBe('INVALID_MODEL');
    expect(e.message).toContain("'../config.json'");
    expect(server.requests.filter((r) => r.includes('onnx_data'))).toEqual([]);
  });
});

describe('dtype variants, named and picked as transformers.js does', () => {
  const variants = ['fp16', 'quantized', 'q4', 'int8', 'uint8', 'q4f16', 'bnb4'];
  const everything = [
    ...ALL_CLIP,
    ...TOWERS.flatMap((t) => variants.map((v) => t.replace('.onnx', `_${v}.onnx`))),
  ];
  const cfg = { model_type: 'clip', logit_scale: 1 };

  it.each([
    ['fp16', 'onnx/vision_model_fp16.onnx'],
    ['q8', 'onnx/vision_model_quantized.onnx'],
    ['quantized', 'onnx/vision_model_quantized.onnx'],
    ['int8', 'onnx/vision_model_int8.onnx'],
    ['uint8', 'onnx/vision_model_uint8.onnx'],
    ['q4', 'onnx/vision_model_q4.onnx'],
    ['q4f16', 'onnx/vision_model_q4f16.onnx'],
    ['bnb4', 'onnx/vision_model_bnb4.onnx'],
  ] as const)('%s → %s', async (dtype, file) => {
    const { model, compiled } = await load(serve(cfg, everything), { dtype });
    expect(compiled.vision).toBe(file);
    expect(model.graphs.find((g) => g.role === 'vision')?.dtype).toBe(dtype);
  });

  it('a record picks per graph; the config dtype applies when the load gives none', async () => {
    const mixed = await load(serve(cfg, everything), { dtype: { vision_model: 'q4', text_model: 'fp16' } });
    expect(mixed.compiled).toEqual({
      vision: 'onnx/vision_model_q4.onnx',
      text: 'onnx/text_model_fp16.onnx',
    });
    const byConfig = await load(
      serve(
        { ...cfg, 'transformers.js_config': { dtype: { vision_model: 'fp16', text_model: 'q4' } } },
        everything,
      ),
    );
    expect(byConfig.compiled).toEqual({
      vision: 'onnx/vision_model_fp16.onnx',
      text: 'onnx/text_model_q4.onnx',
    });
  });

  it("pickDType follows transformers.js' selectDtype, except that no dtype at all means fp32", () => {
    expect(pickDType(undefined, undefined, 'model', 'wasm')).toBe('fp32');
    expect(pickDType('auto', undefined, 'model', 'wasm')).toBe('q8'); // transformers.js' wasm default
    expect(pickDType('auto', undefined, 'model', 'webgpu')).toBe('fp32');
    expect(pickDType('auto', 'fp16', 'model', 'wasm')).toBe('fp16');
    expect(pickDType(undefined, 'q4', 'model', 'wasm')).toBe('q4');
    expect(pickDType({ text_model: 'q4' }, undefined, 'vision_model', 'wasm')).toBe('q8');
    expect(pickDType({ text_model: 'q4' }, undefined, 'vision_model', 'webgpu')).toBe('fp32');
  });

  it('a variant the folder lacks is MODEL_NOT_FOUND naming the file and the dtype', async () => {
    const server = serve(cfg, ALL_CLIP);
    const e = await failure(load(server, { dtype: 'fp16' }));
    expect(e.code).toBe('MODEL_NOT_FOUND');
    expect(e.message).toContain('onnx/vision_model_fp16.onnx (the fp16 variant)');
    expect(e.message).toContain('onnx/model_fp16.onnx');
  });
});
