// Every image form the API accepts, and the two halves of moving one into the worker: on the page we turn
// it into something transferable (ImageBitmap, ImageData's buffer) or cheap to clone (Blob, URL); in the
// worker we decode that into RGBA pixels.
import { WebvlError } from '../errors';
import { MAX_IMAGE_SIDE } from '../limits';
import type { RgbaImage } from './preprocess';

/** What callers may pass: files, bitmaps, pixel data, DOM images and canvases, or a same-origin URL. */
export type ImageInput =
  | Blob
  | ImageBitmap
  | ImageData
  | HTMLImageElement
  | HTMLCanvasElement
  | OffscreenCanvas
  | RgbaImage
  | string
  | URL;

/** The structured-clone form that crosses into the worker. */
export type WireImage =
  | { kind: 'blob'; blob: Blob }
  | { kind: 'bitmap'; bitmap: ImageBitmap }
  | { kind: 'pixels'; width: number; height: number; data: Uint8ClampedArray | Uint8Array }
  | { kind: 'url'; url: string };

const has = (name: string): boolean => typeof (globalThis as Record<string, unknown>)[name] === 'function';

/** Anything shaped like `{ width, height, data }` is meant as pixels, and is then checked strictly. */
function looksLikePixels(v: unknown): v is Record<'width' | 'height' | 'data', unknown> {
  return typeof v === 'object' && v !== null && 'data' in v && 'width' in v && 'height' in v;
}

const isSide = (n: unknown): n is number =>
  typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= MAX_IMAGE_SIDE;

/**
 * RGBA pixels must be bytes: a Uint8ClampedArray or Uint8Array of exactly width·height·4 (a Float32Array or
 * Uint16Array of that length is not 8-bit RGBA, whatever its values). Both sides of the worker check this.
 */
export function checkPixels(width: unknown, height: unknown, data: unknown): RgbaImage {
  if (!(data instanceof Uint8ClampedArray || data instanceof Uint8Array)) {
    const kind = ArrayBuffer.isView(data) ? data.constructor.name : typeof data;
    throw new WebvlError(
      'BAD_IMAGE',
      `pixel data must be a Uint8ClampedArray or Uint8Array of RGBA bytes; got ${kind}`,
    );
  }
  if (!isSide(width) || !isSide(height)) {
    throw new WebvlError(
      'BAD_IMAGE',
      `pixel width and height must be integers from 1 to ${MAX_IMAGE_SIDE}; got ${String(width)}×${String(height)}`,
    );
  }
  if (data.length !== width * height * 4) {
    throw new WebvlError('BAD_IMAGE', `pixel buffer is ${data.length} bytes for ${width}×${height} RGBA`);
  }
  return { width, height, data };
}

/** The bytes to send: the caller's buffer moves when the view owns all of it; a shared or partial one is copied. */
function ownedBytes(data: Uint8ClampedArray | Uint8Array): {
  data: Uint8ClampedArray | Uint8Array;
  transfer: Transferable[];
} {
  const shared = typeof SharedArrayBuffer !== 'undefined' && data.buffer instanceof SharedArrayBuffer;
  if (!shared && data.byteOffset === 0 && data.byteLength === data.buffer.byteLength) {
    return { data, transfer: [data.buffer as ArrayBuffer] };
  }
  const copy = data.slice();
  return { data: copy, transfer: [copy.buffer as ArrayBuffer] };
}

/**
 * Page side. Bitmaps and pixel buffers are listed in `transfer`, so they move rather than copy; an
 * ImageBitmap or ImageData handed in is therefore detached afterwards (ownership passes to the runtime).
 */
export async function toWireImage(input: ImageInput): Promise<{ wire: WireImage; transfer: Transferable[] }> {
  try {
    if (typeof input === 'string' || input instanceof URL) {
      return {
        wire: { kind: 'url', url: new URL(String(input), globalThis.location?.href).href },
        transfer: [],
      };
    }
    if (has('Blob') && input instanceof Blob) return { wire: { kind: 'blob', blob: input }, transfer: [] };
    if (has('ImageBitmap') && input instanceof ImageBitmap) {
      return { wire: { kind: 'bitmap', bitmap: input }, transfer: [input] };
    }
    if ((has('ImageData') && input instanceof ImageData) || looksLikePixels(input)) {
      const { width, height, data } = input as Record<'width' | 'height' | 'data', unknown>;
      const pixels = checkPixels(width, height, data);
      const owned = ownedBytes(pixels.data);
      return {
        wire: { kind: 'pixels', width: pixels.width, height: pixels.height, data: owned.data },
        transfer: owned.transfer,
      };
    }
    if (has('HTMLImageElement') && input instanceof HTMLImageElement) {
      if (!input.complete || input.naturalWidth === 0) {
        throw new WebvlError('BAD_IMAGE', 'the <img> has not loaded (or failed to load)');
      }
    }
    if (
      (has('HTMLImageElement') && input instanceof HTMLImageElement) ||
      (has('HTMLCanvasElement') && input instanceof HTMLCanvasElement) ||
      (has('OffscreenCanvas') && input instanceof OffscreenCanvas)
    ) {
      const bitmap = await createImageBitmap(input);
      return { wire: { kind: 'bitmap', bitmap }, transfer: [bitmap] };
    }
  } catch (e) {
    if (e instanceof WebvlError) throw e;
    throw new WebvlError('BAD_IMAGE', `could not read the image: ${(e as Error).message}`);
  }
  throw new WebvlError('BAD_IMAGE', `unsupported image type: ${Object.prototype.toString.call(input)}`);
}

function bitmapPixels(bitmap: ImageBitmap): RgbaImage {
  const { width, height } = bitmap;
  if (!width || !height) throw new WebvlError('BAD_IMAGE', 'image has no pixels (detached or empty bitmap)');
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new WebvlError('INTERNAL', 'no 2d context on OffscreenCanvas');
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  return ctx.getImageData(0, 0, width, height);
}

async function decodeBlob(blob: Blob): Promise<RgbaImage> {
  let bitmap: ImageBitmap;
  try {
    // No colour-space conversion or premultiplication: we want the file's bytes, like PIL reads them.
    bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch (e) {
    throw new WebvlError(
      'BAD_IMAGE',
      `could not decode the image (${blob.type || 'unknown type'}, ${blob.size} bytes): ${(e as Error).message}`,
    );
  }
  return bitmapPixels(bitmap);
}

/** Worker side: wire image → RGBA pixels. `allowUrl` enforces the same-origin rule for URL inputs. */
export async function decodeWireImage(wire: WireImage, allowUrl: (url: URL) => boolean): Promise<RgbaImage> {
  switch (wire?.kind) {
    case 'pixels':
      return checkPixels(wire.width, wire.height, wire.data);
    case 'bitmap':
      return bitmapPixels(wire.bitmap);
    case 'blob':
      return decodeBlob(wire.blob);
    case 'url': {
      const url = new URL(wire.url);
      if (!allowUrl(url)) {
        throw new WebvlError('BAD_IMAGE', `image URL ${url.href} is not on an allowed origin`, {
          reason: 'cross-origin',
        });
      }
      let res: Response;
      try {
        res = await fetch(url);
      } catch (e) {
        throw new WebvlError('BAD_IMAGE', `could not fetch ${url.href}: ${(e as Error).message}`);
      }
      if (!res.ok) throw new WebvlError('BAD_IMAGE', `could not fetch ${url.href}: HTTP ${res.status}`);
      return decodeBlob(await res.blob());
    }
    default:
      throw new WebvlError('BAD_IMAGE', 'unsupported image payload');
  }
}
