import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import yaml from 'js-yaml';
import { chartDir, repoRoot } from '../../charts/render.js';

// The Dockerfiles cannot be built here (no container builder), so this checks what can drift
// without one: the runtime images install every Debian package that dev-cluster/images/build-images.sh
// takes files from (it then assembles the same file lists in the build stage), the languages agree
// everywhere, and the gateway/operator image is pinned, non-root and production-only.

const read = (relative: string) => readFileSync(`${repoRoot}${relative}`, 'utf8');
const buildImages = read('dev-cluster/images/build-images.sh');
const runtimeDockerfile = read('images/runtime.Dockerfile');
const sandpodDockerfile = read('images/sandpod.Dockerfile');

/** The words of a bash array assignment such as `C_PACKAGES=(gcc gcc-12 ...)`, over several lines. */
function bashArray(name: string): string[] {
  const body = new RegExp(`^${name}=\\(([^)]*)\\)`, 'm').exec(buildImages)?.[1];
  assert.ok(body, `build-images.sh has no ${name}`);
  return body.split(/\s+/).filter(Boolean);
}

/** Debian packages passed to package_files by list_<language>, arrays expanded. */
function packagesOf(language: string): string[] {
  const body = new RegExp(`^list_${language}\\(\\) \\{([\\s\\S]*?)^\\}|^list_${language}\\(\\) \\{(.*)\\}$`, 'm').exec(
    buildImages,
  );
  assert.ok(body, `build-images.sh has no list_${language}`);
  const text = body[1] ?? body[2] ?? '';
  const call = /package_files((?:[ \t]+(?:"\$\{[A-Z_]+\[@\]\}"|[a-z0-9.+-]+))*)/.exec(text)?.[1] ?? '';
  return call
    .split(/\s+/)
    .filter(Boolean)
    .flatMap((word) => {
      const array = /^"\$\{([A-Z_]+)\[@\]\}"$/.exec(word)?.[1];
      return array ? bashArray(array) : [word];
    });
}

const aptInstalled = () => {
  const command = /apt-get install -y --no-install-recommends ([^&]*)&&/s.exec(runtimeDockerfile)?.[1] ?? '';
  return new Set(command.split(/[\s\\]+/).filter(Boolean));
};

describe('images', () => {
  const languages = ['python', 'javascript', 'c', 'cpp', 'bash'];

  for (const language of languages) {
    it(`should install in the runtime image build every Debian package the ${language} image takes files from`, () => {
      const installed = aptInstalled();
      const packages = packagesOf(language);
      assert.ok(packages.includes('dash') && packages.includes('coreutils'), `read ${packages} from build-images.sh`);
      for (const pkg of packages) assert.ok(installed.has(pkg), `${pkg} is not installed`);
    });
  }

  it('should read the compilers from build-images.sh', () => {
    assert.ok(packagesOf('cpp').includes('g++-12'));
    assert.ok(packagesOf('c').includes('libc6-dev'));
  });

  it('should copy every repository file build-images.sh compiles into the runtime build, at the path it reads', () => {
    assert.match(buildImages, /LAUNCHER_SOURCE="\$HERE\/\.\.\/\.\.\/operator\/launcher\/sandpod-launch\.c"/);
    assert.match(
      runtimeDockerfile,
      /^COPY dev-cluster\/images\/build-images\.sh dev-cluster\/images\/pause\.c \/src\/dev-cluster\/images\/$/m,
    );
    assert.match(runtimeDockerfile, /^COPY operator\/launcher\/sandpod-launch\.c \/src\/operator\/launcher\/$/m);
    assert.match(runtimeDockerfile, /\/src\/dev-cluster\/images\/build-images\.sh \/out/);
  });

  it('should install python3.11 and put node 20 where build-images.sh looks for them', () => {
    assert.ok(aptInstalled().has('python3.11'));
    assert.match(buildImages, /\/usr\/bin\/node/);
    assert.match(runtimeDockerfile, /ln -sf \/usr\/local\/bin\/node \/usr\/bin\/node/);
  });

  it('should build the same languages as build-images.sh and the chart', () => {
    const devImages = /\$\{SANDPOD_DEV_IMAGES:-([a-z ]+)\}/.exec(buildImages)?.[1]?.split(' ');
    const built = /LANGUAGES="\$\{LANGUAGES:-([a-z ]+)\}"/.exec(read('images/build.sh'))?.[1]?.split(' ');
    const values = yaml.load(readFileSync(`${chartDir}/values.yaml`, 'utf8')) as {
      runtimes: { list: { name: string }[] };
    };
    assert.deepEqual(devImages, languages);
    assert.deepEqual(built, languages);
    assert.deepEqual(
      values.runtimes.list.map((runtime) => runtime.name),
      languages,
    );
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
