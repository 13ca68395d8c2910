/// <reference types="@webgpu/types" preserve="true" />
/**
 * webvl: vision-language models (CLIP, ALBEF/BLIP) in the browser. {@link createRuntime} starts a Web Worker that
 * runs a model folder's ONNX graphs on webvl's own WebGPU engine or on onnxruntime-web, and returns a typed
 * {@link Runtime}: classify, embed, match, caption, search an index, CapFilt. Failures are {@link WebvlError}s.
 *
 * @packageDocumentation
 */
export { createRuntime, type IndexHandle, type IndexItem, type Runtime } from './api/runtime';
export type * from './api/types';
export type { AdapterSummary, ModelPlacement } from './engine/select';
export { isWebvlError, WebvlError, type WebvlErrorCode } from './errors';
export type { ImageInput } from './vision/image-input';
export type { RgbaImage } from './vision/preprocess';
