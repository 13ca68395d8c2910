export interface ManifestFileEntry {
  readonly size: number;
  readonly sha256: string;
}
export interface FolderManifest {
  readonly version: 1;
  readonly files: Readonly<Record<string, ManifestFileEntry>>;
}
export declare const MANIFEST_FILE: 'manifest.json';
export declare function buildManifest(dir: string): FolderManifest;
export declare function writeManifest(dir: string): FolderManifest;
