// Where the demo's image comes from: a gallery pick, an uploaded file, or a drawing on a canvas.
import { h } from './dom';
import type { GalleryItem } from './gallery';

export interface ImagePicker {
  readonly element: HTMLElement;
  /** The current image as a Blob (gallery, upload) or the drawing canvas. */
  current(): Promise<Blob | HTMLCanvasElement>;
  /** Caption of the current gallery image, when there is one. */
  currentCaption(): string | undefined;
}

export function createImagePicker(gallery: readonly GalleryItem[]): ImagePicker {
  let source: { kind: 'gallery'; item: GalleryItem } | { kind: 'file'; file: File } | { kind: 'canvas' } = {
    kind: 'gallery',
    item: gallery[0],
  };
  const preview = h('img', {
    id: 'picked',
    width: '128',
    height: '128',
    alt: 'selected image',
    src: gallery[0]?.url,
  });
  preview.style.imageRendering = 'pixelated';

  const strip = h('div', { class: 'strip' });
  for (const item of gallery.slice(0, 24)) {
    const img = h('img', {
      src: item.url,
      title: item.caption,
      'data-file': item.file,
      width: '48',
      height: '48',
    });
    img.addEventListener('click', () => {
      source = { kind: 'gallery', item };
      preview.src = item.url;
    });
    strip.append(img);
  }

  const upload = h('input', { type: 'file', accept: 'image/*', id: 'upload' });
  upload.addEventListener('change', () => {
    const file = upload.files?.[0];
    if (!file) return;
    source = { kind: 'file', file };
    preview.src = URL.createObjectURL(file);
  });

  const canvas = h('canvas', { width: '64', height: '64', id: 'draw' });
  canvas.style.width = '128px';
  canvas.style.height = '128px';
  canvas.style.imageRendering = 'pixelated';
  const ctx = canvas.getContext('2d')!;
  const colour = h('input', { type: 'color', value: '#e02020', id: 'draw-colour' });
  const clear = () => {
    ctx.fillStyle = '#000000';
    ctx.fillRect(0, 0, 64, 64);
  };
  clear();
  let drawing = false;
  const paint = (e: PointerEvent) => {
    if (!drawing) return;
    const r = canvas.getBoundingClientRect();
    ctx.fillStyle = colour.value;
    ctx.beginPath();
    ctx.arc(((e.clientX - r.left) * 64) / r.width, ((e.clientY - r.top) * 64) / r.height, 4, 0, Math.PI * 2);
    ctx.fill();
  };
  canvas.addEventListener('pointerdown', (e) => {
    drawing = true;
    source = { kind: 'canvas' };
    paint(e);
  });
  canvas.addEventListener('pointermove', paint);
  window.addEventListener('pointerup', () => {
    drawing = false;
  });
  const clearBtn = h('button', { type: 'button' }, 'clear drawing');
  clearBtn.addEventListener('click', clear);

  const element = h(
    'section',
    { class: 'panel', id: 'picker' },
    h('h2', {}, 'Image'),
    h('div', { class: 'row' }, preview, h('div', {}, h('p', {}, 'Pick from the gallery:'), strip)),
    h('p', {}, 'Or upload: ', upload),
    h('p', {}, 'Or draw (click the canvas): ', colour, ' ', clearBtn),
    canvas,
  );
  return {
    element,
    async current() {
      if (source.kind === 'canvas') return canvas;
      if (source.kind === 'file') return source.file;
      return (await fetch(source.item.url)).blob();
    },
    currentCaption: () => (source.kind === 'gallery' ? source.item.caption : undefined),
  };
}
