import yaml from 'js-yaml';
import { z } from 'zod';
import { type RuntimeSpec, runtimeSpecSchema } from './crd.js';
import { requestedLimitsSchema } from './limits.js';
import { FILE_NAME_PATTERN, firstFieldError, REQUEST_BOUNDS } from './request.js';

// The runtime catalog (runtimes/catalog.yaml): every language of both backends in one file.
// Embedded mode reads it at start; the chart's default Runtimes, manifests/runtimes/ and the
// runtime images' contents are made from it (charts/manifests.ts, runtimes/print.ts). Not part of
// contract/index.ts: the web page needs none of it.

/** Stands in compile and run argv for the directory the compile step writes its output to. */
export const BUILD_DIR_PLACEHOLDER = '{build}';
/** That directory in an execution pod (operator/pod.ts mounts it there). */
export const POD_BUILD_DIR = '/sandpod/build';

// A Runtime object is named after its entry, so a name must be a DNS label.
const runtimeName = z
  .string()
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a DNS label: lower-case letters, digits and -');
const alias = z.string().min(1).max(REQUEST_BOUNDS.runtimeNameLength);
const argv = z.array(z.string().min(1)).min(1);
const debianPackage = z.string().regex(/^[a-z0-9][a-z0-9+.-]+$/, 'must be a Debian package name');
const absolutePath = z.string().regex(/^\/[^\0\s]*$/, 'must be an absolute path without spaces');
const pattern = z.string().refine(
  (text) => {
    try {
      new RegExp(text);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'must be a valid regular expression' },
);
// build-images.sh reads the lists a line per key, words apart, and joins the exclusions with |.
const exclusion = pattern.refine((text) => !/\s/.test(text), { message: 'must hold no white space' });

const imageContentsSchema = z.strictObject({
  /** Debian packages whose files go in (less documentation, /usr/share and /etc). */
  packages: z.array(debianPackage).default([]),
  /** Host files, or whole trees (a path ending in /), that go in as well. */
  paths: z.array(absolutePath).default([]),
});

export const catalogRuntimeSchema = z.strictObject({
  name: runtimeName,
  aliases: z.array(alias).default([]),
  fileName: z.string().max(REQUEST_BOUNDS.fileNameLength).regex(new RegExp(FILE_NAME_PATTERN)),
  compile: argv.optional(),
  run: argv,
  /** Argv prefix of interactive runs; embedded mode only (the Runtime CRD has no such field yet). */
  interactiveRun: z.array(z.string().min(1)).default([]),
  version: z.strictObject({
    /** What the Runtime object states: the version of the toolchain its image carries. */
    declared: z.string().min(1),
    /** How embedded mode reads the host's version: the command, and a pattern capturing it. */
    command: argv,
    pattern,
  }),
  /**
   * Directories of the host's /etc the toolchain reads (the JVM's jvm.cfg, Mono's machine.config):
   * embedded mode, whose /etc is made up, shows them read-only, and the runtime image copies them.
   */
  etc: z.array(absolutePath.regex(/^\/etc\/[^/]+\/?$/, 'must be a directory right under /etc')).default([]),
  limits: z
    .strictObject({ defaults: requestedLimitsSchema.optional(), maxima: requestedLimitsSchema.optional() })
    .optional(),
  compileLimits: requestedLimitsSchema.optional(),
  host: z
    .strictObject({
      /** Debian packages that give embedded mode this language. */
      packages: z.array(debianPackage).default([]),
      /**
       * For a toolchain no Debian package carries (or only an old one): a script of this repository
       * (a path from its root) and its arguments, run as root after the packages are in.
       */
      install: z
        .array(z.string().regex(/^[^\0\s]+$/, 'must be a word without spaces'))
        .min(1)
        .optional(),
    })
    .refine((host) => host.packages.length > 0 || host.install !== undefined, {
      message: 'must name Debian packages or an install script',
      path: ['packages'],
    }),
  image: imageContentsSchema.extend({
    /** Extended regular expressions of paths left out of the image. */
    exclude: z.array(exclusion).default([]),
    /** A layer of images.shared that the image holds below its own (its files go in as well). */
    shared: runtimeName.optional(),
    /** Debian packages the image build must install for `paths`. */
    needs: z.array(debianPackage).default([]),
    /** The image's default command. */
    command: argv,
  }),
});
export type CatalogRuntime = z.infer<typeof catalogRuntimeSchema>;

export const runtimeCatalogSchema = z.strictObject({
  images: z.strictObject({
    /** What every runtime image holds. */
    base: imageContentsSchema,
    /**
     * Layers that several runtime images hold alike (the JVM languages' JDK), by name: a node
     * stores each once, as it does the base.
     */
    shared: z.record(runtimeName, imageContentsSchema.extend({ exclude: z.array(exclusion).default([]) })).default({}),
  }),
  runtimes: z.array(catalogRuntimeSchema).min(1),
});
export type RuntimeCatalog = z.infer<typeof runtimeCatalogSchema>;

/** Reads and checks a catalog; errors name the file and the field at fault. */
export function parseRuntimeCatalog(text: string, source: string): RuntimeCatalog {
  const parsed = runtimeCatalogSchema.safeParse(yaml.load(text));
  if (!parsed.success) {
    // The message names the field at fault.
    throw new Error(`${source}: ${firstFieldError(parsed.error).message}`);
  }
  const names = new Set<string>();
  parsed.data.runtimes.forEach((entry, index) => {
    for (const name of [entry.name, ...entry.aliases]) {
      if (names.has(name)) throw new Error(`${source}: runtimes[${index}]: the name ${name} is used twice`);
      names.add(name);
    }
    const shared = entry.image.shared;
    if (shared !== undefined && !Object.hasOwn(parsed.data.images.shared, shared)) {
      throw new Error(`${source}: runtimes[${index}].image.shared: ${shared} is not a layer of images.shared`);
    }
    // Without a compile step nothing writes {build}, and a pod mounts it only for compiled languages.
    if (!entry.compile && entry.run.some((arg) => arg.includes(BUILD_DIR_PLACEHOLDER))) {
      throw new Error(`${source}: runtimes[${index}].run: ${BUILD_DIR_PLACEHOLDER} needs a compile step`);
    }
  });
  return parsed.data;
}

/** Argv with {build} replaced by where the compile step's output is. */
export function withBuildDir(args: string[], buildDir: string): string[] {
  return args.map((arg) => arg.replaceAll(BUILD_DIR_PLACEHOLDER, buildDir));
}

/** The spec of the Runtime object made from an entry, less its image (the chart names that). */
export function runtimeSpecOf(entry: CatalogRuntime): Omit<RuntimeSpec, 'image'> {
  const spec = {
    version: entry.version.declared,
    ...(entry.aliases.length > 0 ? { aliases: entry.aliases } : {}),
    fileName: entry.fileName,
    ...(entry.compile ? { compile: withBuildDir(entry.compile, POD_BUILD_DIR) } : {}),
    run: withBuildDir(entry.run, POD_BUILD_DIR),
    ...(entry.limits ? { limits: entry.limits } : {}),
    ...(entry.compileLimits ? { compileLimits: entry.compileLimits } : {}),
  };
  // The catalog may allow what the API server refuses (longer argv, more aliases): say so here.
  const checked = runtimeSpecSchema.omit({ image: true }).safeParse(spec);
  if (!checked.success) {
    throw new Error(`runtime ${entry.name}: not a valid Runtime spec: ${firstFieldError(checked.error).message}`);
  }
  return checked.data;
}
