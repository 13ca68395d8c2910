// Every image form the API accepts, and the two halves of moving one into the worker: on the page we turn
// it into something transferable (ImageBitmap, ImageData's buffer) or cheap to clone (Blob, URL); in the
// worker we decode that into RGBA pixels.
import { WebvlError } from '../errors';
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

function isRgbaImage(v: unknown): v is RgbaImage {
  const o = v as RgbaImage;
  return typeof o === 'object' && o !== null && typeof o.width === 'number' && ArrayBuffer.isView(o.data);
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
    if ((has('ImageData') && input instanceof ImageData) || isRgbaImage(input)) {
      const { width, height, data } = input as RgbaImage;
      return { wire: { kind: 'pixels', width, height, data }, transfer: [data.buffer as ArrayBuffer] };
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
    case 'pixels': {
      const img = { width: wire.width, height: wire.height, data: wire.data };
      if (!(img.width > 0 && img.height > 0 && img.data?.length === img.width * img.height * 4)) {
        throw new WebvlError(
          'BAD_IMAGE',
          `pixel buffer is ${img.data?.length} bytes for ${img.width}×${img.height}`,
        );
      }
      return img;
    }
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
