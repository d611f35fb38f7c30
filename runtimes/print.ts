import { accessSync, constants } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { RuntimeCatalog } from '../contract/runtime-catalog.js';
import { readCatalog } from './catalog.js';

// Prints what the shell scripts need of runtimes/catalog.yaml, so that they never list a language
// or a package themselves:
//   node --import=tsx runtimes/print.ts names         runtime names, one a line
//   node --import=tsx runtimes/print.ts image-spec    what each runtime image holds (build-images.sh)
//   node --import=tsx runtimes/print.ts image-needs   Debian packages an image build installs
//   node --import=tsx runtimes/print.ts host-missing  Debian packages embedded mode lacks here

const unique = (values: string[]) => [...new Set(values)];

/**
 * A line per key, `<image> <key> <words...>`, the image `base` for the shared contents. Keys:
 * packages, paths, exclude (regular expressions), needs, command (the JSON of the image's Cmd).
 */
export function imageSpec(catalog: RuntimeCatalog): string {
  const lines = [
    `base packages ${catalog.images.base.packages.join(' ')}`,
    `base paths ${catalog.images.base.paths.join(' ')}`,
  ];
  for (const { name, image } of catalog.runtimes) {
    lines.push(
      `${name} packages ${image.packages.join(' ')}`,
      `${name} paths ${image.paths.join(' ')}`,
      `${name} exclude ${image.exclude.join(' ')}`,
      `${name} needs ${image.needs.join(' ')}`,
      `${name} command ${JSON.stringify(image.command)}`,
    );
  }
  return lines.map((line) => line.trimEnd()).join('\n');
}

/** Every Debian package the image build stage installs: all images' packages and needs. */
export function imageNeeds(catalog: RuntimeCatalog): string[] {
  return unique([
    ...catalog.images.base.packages,
    ...catalog.runtimes.flatMap(({ image }) => [...image.packages, ...image.needs]),
  ]);
}

/** The host packages of the runtimes whose version command is not there. */
export function hostMissing(catalog: RuntimeCatalog, isExecutable: (path: string) => boolean): string[] {
  return unique(
    catalog.runtimes.flatMap((runtime) =>
      isExecutable(runtime.version.command[0] ?? '') ? [] : runtime.host.packages,
    ),
  );
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const catalog = readCatalog();
  const what = process.argv[2];
  const printers: Record<string, () => string[]> = {
    names: () => catalog.runtimes.map((runtime) => runtime.name),
    'image-spec': () => [imageSpec(catalog)],
    'image-needs': () => imageNeeds(catalog),
    'host-missing': () => hostMissing(catalog, isExecutable),
  };
  const printer = what ? printers[what] : undefined;
  if (!printer) {
    console.error(`usage: runtimes/print.ts ${Object.keys(printers).join('|')}`);
    process.exit(2);
  }
  const lines = printer();
  if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`);
}
