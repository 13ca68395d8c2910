// Which files a load reads, by family (config.json) and dtype (transformers.js naming), for folders with and
// without a manifest; and the typed errors for what cannot be loaded. The backend is a recorder: each graph
// "file" holds its own name, so what was compiled can be read back.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Session } from '../../src/engine/backend';
import type { BackendSelector } from '../../src/engine/select';
import { WebvlError } from '../../src/errors';
import { pickDType } from '../../src/models/dtype';
import { openModelFolder } from '../../src/models/model-folder';
import { loadModel } from '../../src/pipelines/loaded-model';
import { familyOf } from '../../src/pipelines/model-family';
import { fakeServer, utf8 } from '../support/fake-folder-server';

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
  const session: Session = {
    inputNames: [],
    outputNames: [],
    run: async () => ({}),
    lastRunStats: () => undefined,
    release: async () => undefined,
  };
  const selector = {
    decision: { name: backend, reason: 'test' },
    async load(model: Uint8Array, { label }: { label: string }) {
      compiled[label] = new TextDecoder().decode(model);
      return session;
    },
    pixelPipeline: async () => undefined,
    prepare: async () => undefined,
  } as unknown as BackendSelector;
  return { selector, compiled };
}

async function load(server: ReturnType<typeof serve>, options: Parameters<typeof loadModel>[2] = {}) {
  const rec = recorder();
  const folder = await openModelFolder('/models/m', { baseUrl: BASE, cache: null, fetch: server.fetchFn });
  // The recorded sessions run nothing, so the warm-up run is left out.
  const model = await loadModel(folder, rec.selector, { warmUp: false, ...options });
  return { model, compiled: rec.compiled, requests: server.requests.map((u) => u.replace(DIR, '')) };
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
    const e = (() => {
      try {
        familyOf({ model_type: 'qwen2_vl', architectures: ['Qwen2VLForConditionalGeneration'] });
      } catch (x) {
        return x as WebvlError;
      }
    })();
    expect(e?.code).toBe('UNSUPPORTED_MODEL');
    expect(e?.message).toContain("model_type 'qwen2_vl'");
    expect(e?.message).toContain('Qwen2VLForConditionalGeneration');
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

  it('external weight files (use_external_data_format) are refused with UNSUPPORTED_MODEL', async () => {
    const cfg = { model_type: 'clip', 'transformers.js_config': { use_external_data_format: true } };
    expect((await failure(load(serve(cfg, ALL_CLIP)))).code).toBe('UNSUPPORTED_MODEL');
  });

  it('processor values we do not implement are UNSUPPORTED_MODEL before any graph is fetched', async () => {
    const server = serve({ model_type: 'clip' }, ALL_CLIP, {
      [`${DIR}preprocessor_config.json`]: utf8(JSON.stringify({ ...PROCESSOR, resample: 1 })),
    });
    const e = await failure(load(server));
    expect(e.code).toBe('UNSUPPORTED_MODEL');
    expect(e.message).toContain('lanczos');
    expect(server.requests.some((r) => r.endsWith('.onnx'))).toBe(false);
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
