// The shipped gallery (models/data/gallery): PNG scenes with their generated captions.
export interface GalleryItem {
  readonly file: string;
  readonly url: string;
  readonly caption: string;
}

export async function loadGallery(limit: number): Promise<GalleryItem[]> {
  const base = `${import.meta.env.BASE_URL}models/data/gallery/`;
  const text = await (await fetch(`${base}captions.jsonl`)).text();
  return text
    .trim()
    .split('\n')
    .slice(0, limit)
    .map((line) => {
      const { file, caption } = JSON.parse(line) as { file: string; caption: string };
      return { file, caption, url: `${base}${file}` };
    });
}
