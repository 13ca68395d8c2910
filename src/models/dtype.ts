// Weight variants of a model folder, named and picked as transformers.js names and picks them
// (src/utils/dtypes.js, src/models/session.js there): onnx/<graph><suffix>.onnx, the dtype coming from the
// load option, else config.json's "transformers.js_config".dtype, each either one name for every graph or a
// record by graph name ('vision_model', 'text_model', 'model', …). 'auto' is transformers.js' device default.
import { WebvlError } from '../errors';

/** The dtype names transformers.js uses ('quantized' is the file suffix of q8, accepted as its alias). */
export type ModelDType = 'fp32' | 'fp16' | 'q8' | 'int8' | 'uint8' | 'quantized' | 'q4' | 'q4f16' | 'bnb4';

/** One dtype for every graph, one per graph name (e.g. `{ vision_model: 'fp16', text_model: 'q8' }`), or 'auto'. */
export type DTypeOption = ModelDType | 'auto' | Readonly<Record<string, ModelDType>>;

const SUFFIX: Readonly<Record<ModelDType, string>> = {
  fp32: '',
  fp16: '_fp16',
  q8: '_quantized',
  quantized: '_quantized',
  int8: '_int8',
  uint8: '_uint8',
  q4: '_q4',
  q4f16: '_q4f16',
  bnb4: '_bnb4',
};

export const MODEL_DTYPES = Object.keys(SUFFIX) as readonly ModelDType[];

export function isModelDType(v: unknown): v is ModelDType {
  return typeof v === 'string' && Object.hasOwn(SUFFIX, v);
}

/** Where transformers.js keeps a folder's graphs. */
export const GRAPH_DIR = 'onnx/';

/** The file of a graph in a dtype: graphFile('vision_model', 'q4') = 'onnx/vision_model_q4.onnx'. */
export function graphFile(graph: string, dtype: ModelDType): string {
  return `${GRAPH_DIR}${graph}${SUFFIX[dtype]}.onnx`;
}

/** Checks a dtype option that came through the API (structured clone, so anything). */
export function checkDTypeOption(value: unknown, field = 'dtype'): DTypeOption | undefined {
  if (value === undefined || value === 'auto' || isModelDType(value)) return value;
  const record = typeof value === 'object' && value !== null && !Array.isArray(value);
  if (record && Object.values(value).every(isModelDType)) {
    return { ...(value as Readonly<Record<string, ModelDType>>) };
  }
  const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 40)) : typeof value;
  throw new WebvlError(
    'INVALID_INPUT',
    `${field} ${shown} is not one of ${MODEL_DTYPES.join(', ')}, 'auto', or a record of them by graph name`,
    { field },
  );
}

/**
 * The dtype of one graph. As transformers.js: the option, else the config's dtype; a record without the
 * graph, or 'auto' without a config dtype, falls to the device default (q8 on wasm, fp32 elsewhere). Unlike
 * transformers.js, a load with neither option nor config dtype is fp32 on every backend, so a folder with only
 * fp32 graphs loads everywhere without asking.
 */
export function pickDType(
  option: DTypeOption | undefined,
  configDType: unknown,
  graph: string,
  backend: 'wasm' | 'webgpu' | 'ort-webgpu',
): ModelDType {
  const deviceDefault: ModelDType = backend === 'wasm' ? 'q8' : 'fp32';
  const fromConfig = (): ModelDType | undefined => {
    const c =
      typeof configDType === 'object' && configDType !== null
        ? (configDType as Record<string, unknown>)[graph]
        : configDType;
    return isModelDType(c) ? c : undefined;
  };
  const chosen = option ?? (configDType as DTypeOption | undefined);
  if (chosen === undefined) return 'fp32';
  if (chosen === 'auto') return fromConfig() ?? deviceDefault;
  if (typeof chosen === 'string') return isModelDType(chosen) ? chosen : deviceDefault;
  const own = chosen[graph];
  return isModelDType(own) ? own : deviceDefault;
}
