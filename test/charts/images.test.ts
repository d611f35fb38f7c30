import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { repoRoot } from '../../charts/render.js';
import { readCatalog } from '../../runtimes/catalog.js';
import { imageNeeds, imageSpec } from '../../runtimes/print.js';

// The Dockerfiles cannot be built here (no container builder), so this checks what can drift
// without one: the runtime images' contents and languages come from runtimes/catalog.yaml in both
// builds (build-images.sh lists no language or package of its own, the Dockerfile installs what the
// catalog names and hands build-images.sh the same spec), the files build-images.sh compiles are
// where it reads them, and the gateway/operator image is pinned, non-root and production-only.

const read = (relative: string) => readFileSync(`${repoRoot}${relative}`, 'utf8');
const buildImages = read('dev-cluster/images/build-images.sh');
const runtimeDockerfile = read('images/runtime.Dockerfile');
const sandpodDockerfile = read('images/sandpod.Dockerfile');

describe('images', () => {
  const catalog = readCatalog();

  it('should copy every folder the production build compiles into the gateway/operator image', () => {
    const buildConfig = JSON.parse(read('tsconfig.build.json')) as { include: string[] };
    for (const folder of buildConfig.include) {
      assert.match(sandpodDockerfile, new RegExp(`^COPY ${folder} ${folder}$`, 'm'), `${folder}/ is not copied`);
    }
  });

  it('should take every language and package of the runtime images from the catalog', () => {
    assert.match(buildImages, /node --import=tsx runtimes\/print\.ts image-spec/);
    assert.match(buildImages, /\$\{SANDPOD_DEV_IMAGES:-\$\{RUNTIMES\[\*\]\}\}/);
    for (const runtime of catalog.runtimes) {
      assert.doesNotMatch(
        buildImages,
        new RegExp(`list_${runtime.name}\\b`),
        `build-images.sh lists ${runtime.name} itself`,
      );
    }
    const code = buildImages
      .split('\n')
      .filter((line) => !line.trimStart().startsWith('#'))
      .join('\n');
    for (const pkg of ['gcc-12', 'libstdc++-12-dev', 'python3.11', 'binutils']) {
      assert.ok(!code.includes(pkg), `build-images.sh names the package ${pkg} itself`);
    }
    assert.match(read('images/build.sh'), /node --import=tsx runtimes\/print\.ts names/);
  });

  it('should install in the image build what the catalog says every image takes files from', () => {
    assert.match(runtimeDockerfile, /node --import=tsx runtimes\/print\.ts image-needs >\/catalog\/image-needs/);
    assert.match(runtimeDockerfile, /node --import=tsx runtimes\/print\.ts image-spec >\/catalog\/image-spec/);
    assert.match(runtimeDockerfile, /xargs -a \/catalog\/image-needs apt-get install/);
    assert.match(runtimeDockerfile, /SANDPOD_RUNTIME_IMAGE_SPEC=\/catalog\/image-spec/);
    const needs = imageNeeds(catalog);
    for (const runtime of catalog.runtimes) {
      for (const pkg of [...runtime.image.packages, ...runtime.image.needs]) assert.ok(needs.includes(pkg), pkg);
    }
    for (const layer of Object.values(catalog.images.shared)) {
      for (const pkg of layer.packages) assert.ok(needs.includes(pkg), pkg);
    }
    assert.ok(needs.includes('dash') && needs.includes('coreutils') && needs.includes('python3.11'), `${needs}`);
  });

  it('should hand build-images.sh a spec line per image key it reads', () => {
    const lines = imageSpec(catalog).split('\n');
    for (const key of ['packages', 'paths', 'exclude', 'needs', 'shared', 'command']) {
      const runtimeLines = lines.filter(
        (line) => !line.startsWith('base ') && !line.startsWith('shared-') && line.split(' ')[1] === key,
      );
      assert.equal(runtimeLines.length, catalog.runtimes.length, key);
      if (key !== 'command') assert.match(buildImages, new RegExp(`spec_words [^\\n]*\\b${key}\\b`), key);
    }
    assert.ok(lines.includes('cpp command ["g++","--version"]'), lines.join('\n'));
  });

  it('should copy every repository file build-images.sh compiles into the runtime build, at the path it reads', () => {
    assert.match(buildImages, /LAUNCHER_SOURCE="\$REPO\/sandbox\/launcher\/sandpod-launch\.c"/);
    assert.match(buildImages, /REPO="\$\(cd "\$HERE\/\.\.\/\.\." && pwd\)"/);
    assert.match(
      runtimeDockerfile,
      /^COPY dev-cluster\/images\/build-images\.sh dev-cluster\/images\/pause\.c \/src\/dev-cluster\/images\/$/m,
    );
    assert.match(runtimeDockerfile, /^COPY sandbox\/launcher\/sandpod-launch\.c \/src\/sandbox\/launcher\/$/m);
    assert.match(runtimeDockerfile, /\/src\/dev-cluster\/images\/build-images\.sh \/out/);
  });

  it('should put node 20 where the catalog names it for the javascript image', () => {
    const javascript = catalog.runtimes.find((runtime) => runtime.name === 'javascript');
    assert.deepEqual(javascript?.image.paths, ['/usr/bin/node']);
    assert.match(runtimeDockerfile, /ln -sf \/usr\/local\/bin\/node \/usr\/bin\/node/);
  });

  it('should ship the catalog in the gateway/operator image, where embedded mode looks for it', () => {
    assert.match(sandpodDockerfile, /^COPY --chown=0:0 runtimes\/catalog\.yaml \.\/runtimes\/catalog\.yaml$/m);
  });

  it('should pin the base image by digest and run the gateway/operator image as non-root with production dependencies', () => {
    assert.match(read('images/base-images.env'), /^NODE_BASE=[^\s@]+@sha256:[0-9a-f]{64}$/m);
    assert.match(sandpodDockerfile, /^FROM \$\{NODE_BASE\} AS build$/m);
    assert.match(sandpodDockerfile, /npm prune --omit=dev/);
    const finalStage = sandpodDockerfile.slice(sandpodDockerfile.lastIndexOf('\nFROM '));
    assert.match(finalStage, /^USER 65532:65532$/m);
    assert.ok(!/npm (ci|install)/.test(finalStage), 'the final stage installs packages');
    const runtimeFinal = runtimeDockerfile.slice(runtimeDockerfile.lastIndexOf('\nFROM '));
    assert.match(runtimeFinal, /^FROM scratch$/m);
    assert.match(runtimeFinal, /^USER 65534:65534$/m);
  });
});
