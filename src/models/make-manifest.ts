// Writes models/<name>/manifest.json (size + sha256 of every file) for each model folder given, or for
// every folder under models/ that has a config.json.  Run: npx tsx src/models/make-manifest.ts [dir…]
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { MANIFEST_FILE, type ManifestEntry, type ModelManifest } from './manifest';

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...listFiles(path));
    else out.push(path);
  }
  return out;
}

export function buildManifest(dir: string): ModelManifest {
  const files: Record<string, ManifestEntry> = {};
  for (const path of listFiles(dir)) {
    const rel = relative(dir, path).split(sep).join('/');
    if (rel === MANIFEST_FILE || rel.startsWith('.')) continue;
    const bytes = readFileSync(path);
    files[rel] = { size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
  }
  return { version: 1, files };
}

function modelDirs(args: string[]): string[] {
  if (args.length) return args;
  const root = 'models';
  return readdirSync(root)
    .map((n) => join(root, n))
    .filter((d) => statSync(d).isDirectory() && existsSync(join(d, 'config.json')));
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split(sep).pop() ?? '')) {
  for (const dir of modelDirs(process.argv.slice(2))) {
    const manifest = buildManifest(dir);
    writeFileSync(join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    const total = Object.values(manifest.files).reduce((s, f) => s + f.size, 0);
    console.log(`${dir}: ${Object.keys(manifest.files).length} files, ${total} bytes`);
  }
}
