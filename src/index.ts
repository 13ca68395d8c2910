// webvl's public entry point.
export { createRuntime, type IndexHandle, type IndexItem, type Runtime } from './api/runtime';
export type * from './api/types';
export { isWebvlError, WebvlError, type WebvlErrorCode } from './errors';
export type { ImageInput } from './vision/image-input';
