import { accessSync, constants, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { CatalogRuntime, RuntimeCatalog } from '../contract/runtime-catalog.js';
import { readCatalog } from './catalog.js';

// Prints what the shell scripts need of runtimes/catalog.yaml, so that they never list a language
// or a package themselves:
//   node --import=tsx runtimes/print.ts names         runtime names, one a line
//   node --import=tsx runtimes/print.ts image-spec    what each runtime image holds (build-images.sh)
//   node --import=tsx runtimes/print.ts image-needs   Debian packages an image build installs
//   node --import=tsx runtimes/print.ts host-missing  Debian packages embedded mode lacks here
//   node --import=tsx runtimes/print.ts host-installs install scripts (and their arguments) of the
//                                                     runtimes embedded mode lacks here, one a line
//   node --import=tsx runtimes/print.ts host-lacking  names of the runtimes embedded mode lacks here
// SANDPOD_LANGUAGES (names or aliases, comma-separated) limits the host-* lists to those runtimes.

const unique = (values: string[]) => [...new Set(values)];

/**
 * A line per key, `<image> <key> <words...>`, the image `base` for the contents every image shares
 * and `shared-<name>` for a layer of images.shared. Keys: packages, paths, exclude (regular
 * expressions), and of a runtime also needs, shared (the name of its shared layer) and command
 * (the JSON of the image's Cmd).
 */
export function imageSpec(catalog: RuntimeCatalog): string {
  const lines = [
    `base packages ${catalog.images.base.packages.join(' ')}`,
    `base paths ${catalog.images.base.paths.join(' ')}`,
  ];
  for (const [name, layer] of Object.entries(catalog.images.shared)) {
    lines.push(
      `shared-${name} packages ${layer.packages.join(' ')}`,
      `shared-${name} paths ${layer.paths.join(' ')}`,
      `shared-${name} exclude ${layer.exclude.join(' ')}`,
    );
  }
  for (const { name, image, etc } of catalog.runtimes) {
    // A directory of /etc the toolchain reads goes in whole, as embedded mode shows it.
    const etcTrees = etc.map((dir) => (dir.endsWith('/') ? dir : `${dir}/`));
    lines.push(
      `${name} packages ${image.packages.join(' ')}`,
      `${name} paths ${[...image.paths, ...etcTrees].join(' ')}`,
      `${name} exclude ${image.exclude.join(' ')}`,
      `${name} needs ${image.needs.join(' ')}`,
      `${name} shared ${image.shared ?? ''}`,
      `${name} command ${JSON.stringify(image.command)}`,
    );
  }
  return lines.map((line) => line.trimEnd()).join('\n');
}

/** Every Debian package the image build stage installs: all images' packages and needs. */
export function imageNeeds(catalog: RuntimeCatalog): string[] {
  return unique([
    ...catalog.images.base.packages,
    ...Object.values(catalog.images.shared).flatMap((layer) => layer.packages),
    ...catalog.runtimes.flatMap(({ image }) => [...image.packages, ...image.needs]),
  ]);
}

/**
 * The runtimes SANDPOD_LANGUAGES names (by name or alias, comma-separated), all when it is unset
 * or empty; a name the catalog lacks is an error that lists the known ones.
 */
export function selectedRuntimes(catalog: RuntimeCatalog, languages: string | undefined): CatalogRuntime[] {
  const wanted = (languages ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  if (wanted.length === 0) return catalog.runtimes;
  const unknown = wanted.filter(
    (name) => !catalog.runtimes.some((runtime) => runtime.name === name || runtime.aliases.includes(name)),
  );
  if (unknown.length > 0) {
    const known = catalog.runtimes.map((runtime) => runtime.name).join(', ');
    throw new Error(`SANDPOD_LANGUAGES names ${unknown.join(', ')}, not in runtimes/catalog.yaml; known: ${known}`);
  }
  return catalog.runtimes.filter((runtime) =>
    wanted.some((name) => name === runtime.name || runtime.aliases.includes(name)),
  );
}

/**
 * The runtimes of `runtimes` whose version command is not there, or names a file (a JVM language's
 * jar, alone or in a class path) that is not: `java -cp clojure.jar` needs more than java.
 */
export function hostLacking(
  runtimes: CatalogRuntime[],
  isExecutable: (path: string) => boolean,
  exists: (path: string) => boolean = isExecutable,
): CatalogRuntime[] {
  return runtimes.filter((runtime) => {
    const [command = '', ...args] = runtime.version.command;
    const files = args.flatMap((arg) => arg.split(':')).filter((word) => /^\/[^\s]+$/.test(word));
    return !isExecutable(command) || files.some((file) => !exists(file));
  });
}

/** The host packages of the runtimes whose version command is not there. */
export function hostMissing(
  catalog: RuntimeCatalog,
  isExecutable: (path: string) => boolean,
  exists: (path: string) => boolean = isExecutable,
): string[] {
  return unique(hostLacking(catalog.runtimes, isExecutable, exists).flatMap((runtime) => runtime.host.packages));
}

/** The install commands of the runtimes whose version command is not there, once each. */
export function hostInstalls(
  runtimes: CatalogRuntime[],
  isExecutable: (path: string) => boolean,
  exists: (path: string) => boolean = isExecutable,
): string[] {
  return unique(
    hostLacking(runtimes, isExecutable, exists).flatMap((runtime) =>
      runtime.host.install ? [runtime.host.install.join(' ')] : [],
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
  const selected = () => selectedRuntimes(catalog, process.env.SANDPOD_LANGUAGES);
  const printers: Record<string, () => string[]> = {
    names: () => catalog.runtimes.map((runtime) => runtime.name),
    'image-spec': () => [imageSpec(catalog)],
    'image-needs': () => imageNeeds(catalog),
    'host-missing': () => hostMissing({ ...catalog, runtimes: selected() }, isExecutable, existsSync),
    'host-installs': () => hostInstalls(selected(), isExecutable, existsSync),
    'host-lacking': () => hostLacking(selected(), isExecutable, existsSync).map((runtime) => runtime.name),
  };
  const printer = what ? printers[what] : undefined;
  if (!printer) {
    console.error(`usage: runtimes/print.ts ${Object.keys(printers).join('|')}`);
    process.exit(2);
  }
  try {
    const lines = printer();
    if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`);
  } catch (error) {
    console.error((error as Error).message);
    process.exit(2);
  }
}
