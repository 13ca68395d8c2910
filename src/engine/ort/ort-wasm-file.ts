/**
 * The one binary the `onnxruntime-web/webgpu` bundle loads (its Emscripten glue is inside the bundle), for both
 * the wasm and the webgpu execution providers. Builds copy only this file. (A module of its own so that build
 * scripts can read the name without loading onnxruntime-web.)
 */
export const ORT_WASM_FILE = 'ort-wasm-simd-threaded.asyncify.wasm';
