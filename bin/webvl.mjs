#!/usr/bin/env node
// webvl command line.  npx webvl manifest DIR [DIR…]  writes DIR/manifest.json (size + SHA-256 of every file), so
// the runtime verifies each file of that model folder before using it.
import { existsSync, statSync } from 'node:fs';
import { writeManifest } from './manifest.mjs';

const USAGE = 'usage: webvl manifest DIR [DIR…]   write DIR/manifest.json (size and SHA-256 of every file)';

function main(args) {
  const [command, ...dirs] = args;
  if (command !== 'manifest' || dirs.length === 0) {
    console.error(USAGE);
    return 2;
  }
  for (const dir of dirs) {
    if (!existsSync(dir) || !statSync(dir).isDirectory()) {
      console.error(`webvl manifest: ${dir} is not a folder`);
      return 1;
    }
    const manifest = writeManifest(dir);
    const entries = Object.values(manifest.files);
    const bytes = entries.reduce((s, f) => s + f.size, 0);
    console.log(`${dir}/manifest.json: ${entries.length} files, ${bytes} bytes`);
  }
  return 0;
}

process.exitCode = main(process.argv.slice(2));
