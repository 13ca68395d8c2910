// Which external-data files an ONNX graph reads its weights from (`use_external_data_format`: Optimum's
// `model.onnx_data`, transformers.js' `model.onnx_data`, `model.onnx_data_1`, …, torch's `model.onnx.data`). The
// graph names them itself, in each external tensor's `location`, so they are found by walking the wire format
// (tensors' bytes skipped) rather than guessed from the config.
import { WebvlError } from '../errors';
import { Cursor, children } from '../onnx/proto-wire';
import type { FolderFile, ModelFolder } from './model-folder';

/** TensorProto.DataLocation.EXTERNAL. */
const EXTERNAL = 1;

const utf8 = new TextDecoder();

/** The `location` of a TensorProto whose data is external, else undefined. */
function externalLocation(bytes: Uint8Array, start: number, end: number): string | undefined {
  let external = false;
  let location: string | undefined;
  const c = new Cursor(bytes, start, end);
  while (!c.done) {
    const f = c.next();
    if (f.no === 14 && f.value === EXTERNAL) external = true;
    if (f.no === 13 && f.start !== undefined && f.end !== undefined) {
      // StringStringEntryProto: key = 1, value = 2.
      const [key] = children(bytes, f.start, f.end, 1);
      const [value] = children(bytes, f.start, f.end, 2);
      if (key && utf8.decode(bytes.subarray(key[0], key[1])) === 'location')
        location = value ? utf8.decode(bytes.subarray(value[0], value[1])) : '';
    }
  }
  return external ? (location ?? '') : undefined;
}

/** Every external location of a GraphProto: its initializers, and the tensors and subgraphs of its attributes. */
function graphLocations(bytes: Uint8Array, start: number, end: number, out: Set<string>): void {
  const tensor = (s: number, e: number) => {
    const location = externalLocation(bytes, s, e);
    if (location !== undefined) out.add(location);
  };
  for (const [s, e] of children(bytes, start, end, 5)) tensor(s, e);
  for (const [ns, ne] of children(bytes, start, end, 1)) {
    for (const [as, ae] of children(bytes, ns, ne, 5)) {
      // AttributeProto: t = 5, tensors = 10, g = 6, graphs = 11.
      for (const [ts, te] of [...children(bytes, as, ae, 5), ...children(bytes, as, ae, 10)]) tensor(ts, te);
      for (const [gs, ge] of [...children(bytes, as, ae, 6), ...children(bytes, as, ae, 11)])
        graphLocations(bytes, gs, ge, out);
    }
  }
}

/**
 * The external-data locations a model's tensors name, each once (a graph's initializers, then its nodes'); empty when it has none or the bytes
 * are not a readable model (the backend then says what is wrong with them).
 */
export function externalDataLocations(model: Uint8Array): string[] {
  try {
    const out = new Set<string>();
    for (const [s, e] of children(model, 0, model.length, 7)) graphLocations(model, s, e, out);
    return [...out];
  } catch {
    return [];
  }
}

/**
 * The folder path of an external-data file: `location` is relative to the graph file's own directory (ONNX's
 * rule). A location that could leave the folder or name another origin is INVALID_MODEL.
 */
export function externalDataPath(graphFile: string, location: string): string {
  const parts = location.split('/').filter((p) => p !== '' && p !== '.');
  if (
    parts.length === 0 ||
    location.startsWith('/') ||
    /[\\:?#%]/.test(location) ||
    parts.some((p) => p === '..')
  ) {
    throw new WebvlError(
      'INVALID_MODEL',
      `${graphFile}: external data location '${location}' is not a file beside the graph`,
      { file: graphFile, location },
    );
  }
  const dir = graphFile.includes('/') ? graphFile.slice(0, graphFile.lastIndexOf('/') + 1) : '';
  return `${dir}${parts.join('/')}`;
}

/** A graph whose bytes and external-data files are all in: what a backend loads. */
export interface GraphWithData<K> {
  readonly key: K;
  readonly model: Uint8Array;
  /** By location, as the graph's tensors name them; undefined when its weights are all inside it. */
  readonly externalData: ReadonlyMap<string, Uint8Array> | undefined;
}

/**
 * Follows a load's graph files to their external-data files: `graphRead` names the files a graph needs (each read
 * once, however many graphs name it), `fileRead` takes one when it is in, and `complete` hands over each graph
 * whose files have all arrived.
 */
export class ExternalDataReader<K> {
  private readonly pending: { key: K; model: Uint8Array; paths: Map<string, string> }[] = [];
  private readonly wanted = new Set<string>();
  private readonly arrived = new Map<string, Uint8Array>();
  private readonly files = new Map<K, string[]>();

  constructor(private readonly folder: ModelFolder) {}

  /** The external-data files `graphFile` names that are not read yet; MODEL_NOT_FOUND for one the folder lacks. */
  async graphRead(key: K, graphFile: string, model: Uint8Array): Promise<FolderFile[]> {
    const paths = new Map(externalDataLocations(model).map((l) => [l, externalDataPath(graphFile, l)]));
    this.pending.push({ key, model, paths });
    this.files.set(key, [...new Set(paths.values())]);
    const fresh = [...new Set(paths.values())].filter((p) => !this.wanted.has(p));
    for (const p of fresh) this.wanted.add(p);
    const opened = await Promise.all(fresh.map((p) => this.folder.open(p)));
    const missing = fresh.filter((_, i) => !opened[i]);
    if (missing.length) {
      for (const f of opened) f?.discard?.();
      throw new WebvlError(
        'MODEL_NOT_FOUND',
        `${this.folder.url.href} has no ${missing.join(' and no ')} (external data of ${graphFile})`,
        { files: missing },
      );
    }
    return opened as FolderFile[];
  }

  /** The folder paths of the external-data files graph `key` named. */
  filesOf(key: K): string[] {
    return this.files.get(key) ?? [];
  }

  fileRead(file: string, bytes: Uint8Array): undefined {
    if (this.wanted.has(file)) this.arrived.set(file, bytes);
    return undefined;
  }

  /** Graphs now complete, in the order they were read; each is handed over once. */
  complete(): GraphWithData<K>[] {
    const done: GraphWithData<K>[] = [];
    for (let i = 0; i < this.pending.length; ) {
      const g = this.pending[i];
      if (![...g.paths.values()].every((p) => this.arrived.has(p))) {
        i++;
        continue;
      }
      this.pending.splice(i, 1);
      const externalData = g.paths.size
        ? new Map([...g.paths].map(([location, path]) => [location, this.arrived.get(path) as Uint8Array]))
        : undefined;
      done.push({ key: g.key, model: g.model, externalData });
    }
    return done;
  }
}
