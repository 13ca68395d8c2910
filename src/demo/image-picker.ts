// Where the demo's image comes from: a gallery pick, a file (chosen, dropped anywhere on the page, or pasted),
// or a drawing on a canvas.
import { h } from './dom';
import type { GalleryItem } from './gallery';

export interface ImagePicker {
  readonly element: HTMLElement;
  /** The current image as a Blob (gallery, file) or the drawing canvas. */
  current(): Promise<Blob | HTMLCanvasElement>;
  /** Caption of the current gallery image, when there is one. */
  currentCaption(): string | undefined;
  /** Tells `listener` whenever the image changes. */
  onChange(listener: () => void): void;
}

type Source = { kind: 'gallery'; item: GalleryItem } | { kind: 'file'; file: Blob } | { kind: 'canvas' };

/** The first image file of a drop or paste, if any. */
function imageFile(data: DataTransfer | null): File | undefined {
  return [...(data?.files ?? [])].find((f) => f.type.startsWith('image/') || f.type === '');
}

function drawingCanvas(onDraw: () => void): { element: HTMLElement; canvas: HTMLCanvasElement } {
  const canvas = h('canvas', { width: '64', height: '64', id: 'draw', class: 'pixelated' });
  const ctx = canvas.getContext('2d')!;
  const colour = h('input', {
    type: 'color',
    value: '#e02020',
    id: 'draw-colour',
    'aria-label': 'pen colour',
  });
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
    onDraw();
  };
  canvas.addEventListener('pointerdown', (e) => {
    drawing = true;
    paint(e);
  });
  canvas.addEventListener('pointermove', paint);
  window.addEventListener('pointerup', () => {
    drawing = false;
  });
  const clearBtn = h('button', { type: 'button', class: 'secondary' }, 'Clear');
  clearBtn.addEventListener('click', () => {
    clear();
    onDraw();
  });
  const element = h(
    'details',
    { class: 'draw', id: 'draw-details' },
    h('summary', {}, 'Or draw one'),
    h('div', { class: 'draw-body' }, canvas, h('div', { class: 'draw-tools' }, colour, clearBtn)),
  );
  return { element, canvas };
}

export function createImagePicker(gallery: readonly GalleryItem[]): ImagePicker {
  let source: Source = gallery[0] ? { kind: 'gallery', item: gallery[0] } : { kind: 'canvas' };
  const listeners: (() => void)[] = [];
  const preview = h('img', { id: 'picked', alt: 'the selected image', src: gallery[0]?.url ?? '' });
  const label = h('p', { class: 'picked-label', id: 'picked-label' });
  const drop = h('div', { class: 'drop', id: 'drop-zone' });
  let objectUrl: string | undefined;

  const select = (next: Source) => {
    source = next;
    if (objectUrl) URL.revokeObjectURL(objectUrl);
    objectUrl = undefined;
    if (next.kind === 'gallery') {
      preview.src = next.item.url;
      label.textContent = `Gallery scene: “${next.item.caption}”`;
    } else if (next.kind === 'file') {
      objectUrl = URL.createObjectURL(next.file);
      preview.src = objectUrl;
      label.textContent = `Your image${next.file instanceof File ? `: ${next.file.name}` : ''}`;
    } else {
      label.textContent = 'Your drawing';
    }
    for (const thumb of strip.querySelectorAll('img')) {
      thumb.classList.toggle('selected', next.kind === 'gallery' && thumb.dataset.file === next.item.file);
    }
    for (const l of listeners) l();
  };

  const strip = h('div', { class: 'strip', role: 'list' });
  for (const item of gallery.slice(0, 24)) {
    const img = h('img', {
      src: item.url,
      title: item.caption,
      alt: item.caption,
      'data-file': item.file,
      role: 'listitem',
      tabindex: '0',
    });
    img.addEventListener('click', () => select({ kind: 'gallery', item }));
    img.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') select({ kind: 'gallery', item });
    });
    strip.append(img);
  }

  const upload = h('input', { type: 'file', accept: 'image/*', id: 'upload', class: 'visually-hidden' });
  upload.addEventListener('change', () => {
    const file = upload.files?.[0];
    if (file) select({ kind: 'file', file });
  });
  drop.append(
    preview,
    h(
      'div',
      { class: 'drop-text' },
      h('strong', {}, 'Drop an image here'),
      h('span', {}, 'or paste one (Ctrl/⌘ V), or '),
      h('label', { for: 'upload', class: 'button secondary' }, 'Choose a file'),
      upload,
    ),
  );

  // Dropping anywhere on the page works; the zone lights up while a file is dragged over the page.
  let depth = 0;
  window.addEventListener('dragenter', (e) => {
    if (!e.dataTransfer?.types.includes('Files')) return;
    depth++;
    drop.classList.add('dragging');
  });
  window.addEventListener('dragleave', () => {
    depth = Math.max(0, depth - 1);
    if (depth === 0) drop.classList.remove('dragging');
  });
  window.addEventListener('dragover', (e) => e.preventDefault());
  window.addEventListener('drop', (e) => {
    e.preventDefault();
    depth = 0;
    drop.classList.remove('dragging');
    const file = imageFile(e.dataTransfer);
    if (file) select({ kind: 'file', file });
  });
  document.addEventListener('paste', (e) => {
    const file = imageFile(e.clipboardData);
    if (!file) return;
    e.preventDefault();
    select({ kind: 'file', file });
  });

  const draw = drawingCanvas(() => {
    if (source.kind !== 'canvas') select({ kind: 'canvas' });
    preview.src = draw.canvas.toDataURL();
  });

  const element = h(
    'section',
    { class: 'card picker', id: 'picker', 'aria-labelledby': 'picker-title' },
    h('h2', { id: 'picker-title' }, h('span', { class: 'step' }, '1'), 'Pick an image'),
    drop,
    label,
    h('p', { class: 'muted small' }, 'Or take a scene from the gallery the models were trained on:'),
    strip,
    draw.element,
  );
  select(source);
  return {
    element,
    async current() {
      if (source.kind === 'canvas') return draw.canvas;
      if (source.kind === 'file') return source.file;
      return (await fetch(source.item.url)).blob();
    },
    currentCaption: () => (source.kind === 'gallery' ? source.item.caption : undefined),
    onChange: (l) => listeners.push(l),
  };
}
