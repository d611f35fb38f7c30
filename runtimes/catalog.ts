import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseRuntimeCatalog, type RuntimeCatalog } from '../contract/runtime-catalog.js';

// The checkout's runtime catalog, for the generators and scripts that run from a clone.

export const CATALOG_PATH = fileURLToPath(new URL('catalog.yaml', import.meta.url));

export function readCatalog(path: string = CATALOG_PATH): RuntimeCatalog {
  return parseRuntimeCatalog(readFileSync(path, 'utf8'), path);
}
