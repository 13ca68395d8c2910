// RGBA test images: a crop of one, and one as transformers.js' RGB RawImage (its processors' input).
import { RawImage } from '@huggingface/transformers';

interface Rgba<T extends ArrayLike<number>> {
  readonly width: number;
  readonly height: number;
  readonly data: T;
}

/** The top-left `width` × `height` pixels of `image`. */
export function cropRgba(image: Rgba<ArrayLike<number>>, width: number, height: number): Rgba<Uint8Array> {
  return {
    width,
    height,
    data: Uint8Array.from({ length: width * height * 4 }, (_, i) => {
      const [p, c] = [Math.floor(i / 4), i % 4];
      return image.data[(Math.floor(p / width) * image.width + (p % width)) * 4 + c];
    }),
  };
}

/** `image` without its alpha, as transformers.js' RawImage. */
export function rgbRawImage(image: Rgba<ArrayLike<number>>): RawImage {
  const data = new Uint8ClampedArray(image.width * image.height * 3);
  for (let i = 0; i < image.width * image.height; i++)
    for (let c = 0; c < 3; c++) data[i * 3 + c] = image.data[i * 4 + c];
  return new RawImage(data, image.width, image.height, 3);
}
