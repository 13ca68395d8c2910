// Hugging Face Hub addresses as people copy them, turned into the folder URL files resolve against:
//   https://huggingface.co/<org>/<name>             → …/<org>/<name>/resolve/main/
//   <origin>/<org>/<name>/tree/<rev>[/…] or /blob/  → <origin>/<org>/<name>/resolve/<rev>/
// `<origin>/<org>/<name>/resolve/<rev>/` is already a folder URL (any origin that serves the Hub's layout, such
// as a mirror). Anything else is left as it is. The origin must still be allowed (allowedOrigins).

const HUB_ORIGINS = new Set(['https://huggingface.co', 'https://hf.co']);

export function normalizeHubUrl(modelUrl: string): string {
  let url: URL;
  try {
    url = new URL(modelUrl);
  } catch {
    return modelUrl; // relative: a folder on the page's own origin
  }
  const parts = url.pathname.split('/').filter(Boolean);
  if (parts.length >= 4 && (parts[2] === 'tree' || parts[2] === 'blob')) {
    return `${url.origin}/${parts[0]}/${parts[1]}/resolve/${parts[3]}/`;
  }
  if (parts.length === 2 && HUB_ORIGINS.has(url.origin)) {
    return `${url.origin}/${parts[0]}/${parts[1]}/resolve/main/`;
  }
  return modelUrl;
}
