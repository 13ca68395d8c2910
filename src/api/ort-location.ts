// Turns the `ortWasmPaths` option into an absolute location the worker can fetch (the worker's own base URL is
// its script, not the page, so relative URLs are resolved here).
import type { OrtWasmLocation } from '../engine/ort/ort-env';
import { WebvlError } from '../errors';

export function resolveOrtWasm(option: string | undefined, pageUrl: string): OrtWasmLocation | undefined {
  if (option === undefined) return undefined;
  if (typeof option !== 'string' || option.trim() === '') {
    throw new WebvlError('INVALID_INPUT', 'ortWasmPaths must be a non-empty URL string');
  }
  let url: URL;
  try {
    url = new URL(option, pageUrl);
  } catch {
    throw new WebvlError('INVALID_INPUT', `ortWasmPaths is not a URL: ${option}`);
  }
  if (url.pathname.endsWith('.wasm')) return { wasm: url.href };
  // A folder: onnxruntime-web appends the file name to it.
  return url.href.endsWith('/') ? url.href : `${url.href}/`;
}
