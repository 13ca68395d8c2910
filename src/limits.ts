// Upper bounds on what one call may ask for. Each exists because past it the runtime would run out of memory
// or hold the worker for minutes; the README's API notes list them.

/** One model file: protobuf (ONNX) cannot be larger, and typed arrays this size are where browsers stop. */
export const MAX_MODEL_FILE_BYTES = 2 ** 31 - 1;

/** Texts encoded in one call (classify: labels × templates; embedText; match). */
export const MAX_TEXTS_PER_CALL = 10_000;

/** Templates of one classify call (a prompt ensemble). */
export const MAX_TEMPLATES = 64;

/** Images in one index.add/upsert batch, and in one capfilt call. */
export const MAX_IMAGES_PER_CALL = 1_000;

/** Width or height of an RGBA pixel buffer (larger images come as files or bitmaps). */
export const MAX_IMAGE_SIDE = 16_384;

/** Tiles an Idefics3 (SmolVLM) image may be cut into: each is a vision encoder run and a run of image tokens. */
export const MAX_IMAGE_TILES = 1_024;

/** Image tokens one Qwen2-VL image may become (its processor's max_pixels bounds them; Qwen2-VL's is 16,384). */
export const MAX_IMAGE_TOKENS = 65_536;

/** Index search: hits returned, and ITM candidates re-scored when re-ranking. */
export const MAX_SEARCH_K = 10_000;
export const MAX_RERANK_CANDIDATES = 256;

/** Ids in one index.remove call. */
export const MAX_IDS_PER_REMOVE = 100_000;

/** Index names and entry ids, in UTF-16 code units. */
export const MAX_INDEX_NAME_LENGTH = 256;
export const MAX_ID_LENGTH = 1_024;

/** Host memory beam search may hold for one caption (encoder states and KV cache per beam, twice over). */
export const BEAM_MEMORY_BYTES = 64 * 2 ** 20;

/** Beams allowed when the decoder's shapes do not say how large a beam is. */
export const MAX_BEAMS_UNSIZED = 8;

/** Images one conversation may be about (ask, chat): each is a vision encoder run and its runs of image tokens. */
export const MAX_CHAT_IMAGES = 16;

/** Tokens one answer may generate (ask, chat). */
export const MAX_ANSWER_TOKENS = 1_024;

/** Messages in one chat call. */
export const MAX_CHAT_MESSAGES = 256;

/** Characters of one question or chat message. */
export const MAX_MESSAGE_CHARS = 32_768;
