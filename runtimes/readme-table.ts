import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { RuntimeCatalog } from '../contract/runtime-catalog.js';
import { readCatalog } from './catalog.js';

// The README's language table, made from runtimes/catalog.yaml so that it never drifts from it:
//   node --import=tsx runtimes/readme-table.ts          prints the table
//   node --import=tsx runtimes/readme-table.ts --write  puts it into README.md (make manifests)

export const README_PATH = fileURLToPath(new URL('../README.md', import.meta.url));
export const TABLE_START = '<!-- runtimes table: made from runtimes/catalog.yaml by make manifests -->';
export const TABLE_END = '<!-- end of runtimes table -->';

const code = (text: string) => `\`${text.replaceAll('|', '\\|')}\``;

/** A Markdown table: name, aliases, the version the images carry, and whether it compiles. */
export function runtimesTable(catalog: RuntimeCatalog): string {
  const rows = catalog.runtimes.map((runtime) =>
    [
      code(runtime.name),
      runtime.aliases.map(code).join(', '),
      runtime.version.declared,
      runtime.compile ? 'yes' : 'no',
    ].join(' | '),
  );
  return [
    '| runtime | aliases | version | compiled |',
    '| --- | --- | --- | --- |',
    ...rows.map((row) => `| ${row} |`),
  ].join('\n');
}

/** `readme` with the text between the markers replaced by the table; throws without the markers. */
export function withRuntimesTable(readme: string, catalog: RuntimeCatalog): string {
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  if (start < 0 || end < start) throw new Error(`README.md lacks the markers ${TABLE_START} ... ${TABLE_END}`);
  return `${readme.slice(0, start + TABLE_START.length)}\n${runtimesTable(catalog)}\n${readme.slice(end)}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const catalog = readCatalog();
  if (process.argv[2] === '--write') {
    writeFileSync(README_PATH, withRuntimesTable(readFileSync(README_PATH, 'utf8'), catalog));
  } else {
    process.stdout.write(`${runtimesTable(catalog)}\n`);
  }
}
