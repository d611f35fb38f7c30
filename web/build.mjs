// Bundles the web page into web/dist: index.html, one script, one stylesheet (xterm's included),
// each named by the hash of its content so a new build never mixes with a cached old one.
// The type check of web/src (its own tsconfig: DOM, no emit) runs alongside esbuild.
//   node web/build.mjs [--no-typecheck] [--outdir DIR]

import { execFile } from 'node:child_process';
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as esbuild from 'esbuild';

const webDir = dirname(fileURLToPath(import.meta.url));
const rootDir = dirname(webDir);
const outDirArgument = process.argv.indexOf('--outdir');
const outDir = outDirArgument > 0 ? resolve(process.argv[outDirArgument + 1] ?? '') : join(webDir, 'dist');
const entries = { main: 'web/src/main.ts', style: 'web/style.css' };

async function typecheck() {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  try {
    await promisify(execFile)(process.execPath, [tsc, '-p', join(webDir, 'tsconfig.json')], { cwd: rootDir });
  } catch (error) {
    throw new Error(`web/src has type errors:\n${error.stdout || error.message}`);
  }
}

// The page shares the contract's plain types and values (contract/limit-values.ts and the like);
// zod, which the schemas need, stays on the server and would more than double the bundle.
const noZod = {
  name: 'no-zod',
  setup(build) {
    build.onResolve({ filter: /^zod(\/.*)?$/ }, ({ importer }) => ({
      errors: [{ text: `the web page must not bundle zod (imported by ${relative(rootDir, importer)})` }],
    }));
  },
};

async function bundle() {
  const result = await esbuild.build({
    absWorkingDir: rootDir,
    entryPoints: entries,
    outdir: outDir,
    entryNames: '[name]-[hash]',
    chunkNames: 'chunks/[name]-[hash]',
    assetNames: 'assets/[name]-[hash]',
    bundle: true,
    splitting: true,
    format: 'esm',
    plugins: [noZod],
    target: ['es2022', 'chrome111', 'firefox113', 'safari16.4'],
    minify: true,
    sourcemap: 'linked',
    legalComments: 'linked',
    charset: 'utf8',
    metafile: true,
    logLevel: 'warning',
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  const outputOf = (entry, extension) => {
    const found = Object.entries(result.metafile.outputs).find(
      ([file, output]) => output.entryPoint === entry && file.endsWith(extension),
    );
    if (!found) throw new Error(`esbuild produced no ${extension} for ${entry}`);
    return relative(outDir, join(rootDir, found[0]));
  };
  const script = outputOf(entries.main, '.js');
  // Chunks the script imports statically: preloading them saves a round trip on first load.
  const preloads = result.metafile.outputs[relative(rootDir, join(outDir, script))].imports
    .filter((imported) => imported.kind === 'import-statement')
    .map((imported) => relative(outDir, join(rootDir, imported.path)));
  return { script, preloads, stylesheet: outputOf(entries.style, '.css') };
}

async function writeIndex({ script, preloads, stylesheet }) {
  const template = await readFile(join(webDir, 'index.html'), 'utf8');
  const preloadLinks = preloads.map((chunk) => `\n    <link rel="modulepreload" href="${chunk}">`).join('');
  const html = template
    .replace('href="style.css"', `href="${stylesheet}"`)
    .replace(
      /<script type="module" src="main.js"><\/script>/,
      (tag) => `${tag.replace('main.js', script)}${preloadLinks}`,
    );
  if (!html.includes(script) || !html.includes(stylesheet)) {
    throw new Error('web/index.html must link style.css and main.js');
  }
  await writeFile(join(outDir, 'index.html'), html);
}

// The API page (/api/docs): Swagger UI's prebuilt bundle from npm beside our own page, so it
// loads without any network but the gateway's.
async function copyApiDocs() {
  const swaggerUi = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  const target = join(outDir, 'api-docs');
  await mkdir(target, { recursive: true });
  const files = [
    [join(swaggerUi, 'swagger-ui-bundle.js'), 'swagger-ui-bundle.js'],
    [join(swaggerUi, 'swagger-ui.css'), 'swagger-ui.css'],
    [join(swaggerUi, 'LICENSE'), 'swagger-ui.LICENSE.txt'],
    [join(swaggerUi, 'swagger-ui-bundle.js.LICENSE.txt'), 'swagger-ui-bundle.js.LICENSE.txt'],
    [join(webDir, 'api-docs', 'index.html'), 'index.html'],
    [join(webDir, 'api-docs', 'init.js'), 'init.js'],
  ];
  await Promise.all(files.map(([from, to]) => copyFile(from, join(target, to))));
}

async function build() {
  const started = performance.now();
  await rm(outDir, { recursive: true, force: true });
  const [outputs] = await Promise.all([bundle(), process.argv.includes('--no-typecheck') ? undefined : typecheck()]);
  await Promise.all([writeIndex(outputs), copyApiDocs()]);
  const elapsedMs = Math.round(performance.now() - started);
  process.stdout.write(
    `Built ${relative(rootDir, outDir)} (${outputs.script}, ${outputs.stylesheet}) in ${elapsedMs} ms\n`,
  );
}

try {
  await build();
} catch (error) {
  // esbuild has printed its own diagnostics already; the message says which step failed.
  console.error(`web/build.mjs: ${error.message}`);
  process.exitCode = 1;
}
