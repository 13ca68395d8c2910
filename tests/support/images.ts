// Small synthetic RGBA images for tests that run the runtime in Node (which cannot decode image files).

export interface Rgba {
  width: number;
  height: number;
  data: Uint8ClampedArray;
}

const COLOURS: Record<string, [number, number, number]> = {
  red: [220, 30, 30],
  green: [30, 180, 60],
  blue: [40, 60, 220],
  yellow: [230, 210, 40],
};

/** A filled disc of `colour` on a light grey background; a fresh buffer each call (inputs are transferred). */
export function disc(colour: keyof typeof COLOURS, size = 64, radius = size / 4): Rgba {
  const [r, g, b] = COLOURS[colour];
  const data = new Uint8ClampedArray(size * size * 4);
  const c = (size - 1) / 2;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const inside = (x - c) ** 2 + (y - c) ** 2 <= radius ** 2;
      data.set(inside ? [r, g, b, 255] : [235, 235, 235, 255], (y * size + x) * 4);
    }
  }
  return { width: size, height: size, data };
}
