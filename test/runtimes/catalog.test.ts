import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import yaml from 'js-yaml';
import { CHART_RUNTIMES_PATH, chartRuntimesFile } from '../../charts/runtimes.js';
import { runtimeSpecSchema } from '../../contract/crd.js';
import { POD_BUILD_DIR, parseRuntimeCatalog, runtimeSpecOf } from '../../contract/runtime-catalog.js';
import { PATHS } from '../../operator/pod.js';
import { readCatalog } from '../../runtimes/catalog.js';
import {
  hostInstalls,
  hostLacking,
  hostMissing,
  imageNeeds,
  imageSpec,
  selectedRuntimes,
} from '../../runtimes/print.js';

// runtimes/catalog.yaml is the one list of languages: the chart's default Runtimes and
// manifests/runtimes/ are generated from it (make manifests), and must not drift from it.

const stale = 'is stale: run make manifests';
const repoFile = (relative: string) => readFileSync(new URL(`../../${relative}`, import.meta.url), 'utf8');

/** A small valid catalog with `entry` merged over a valid runtime. */
function catalogText(entry: Record<string, unknown> = {}, extra: Record<string, unknown>[] = []): string {
  const runtime = {
    name: 'lang',
    fileName: 'main.x',
    run: ['/usr/bin/x', 'main.x'],
    version: { declared: '1', command: ['/usr/bin/x', '--version'], pattern: '(\\S+)' },
    host: { packages: ['xx'] },
    image: { packages: ['xx'], command: ['x'] },
    ...entry,
  };
  return yaml.dump({ images: { base: { packages: ['dash'] } }, runtimes: [runtime, ...extra] });
}

describe('runtime catalog', () => {
  const catalog = readCatalog();

  it('should hold the 38 languages and python-science when the committed catalog is read', () => {
    const names = catalog.runtimes.map((runtime) => runtime.name).sort();
    const expected = ['python', 'javascript', 'typescript', 'c', 'cpp', 'bash', 'go', 'rust', 'java', 'kotlin'];
    expected.push('csharp', 'scala', 'groovy', 'clojure', 'ruby', 'php', 'perl', 'lua', 'tcl', 'r', 'octave');
    expected.push('haskell', 'ocaml', 'erlang', 'elixir', 'racket', 'scheme', 'commonlisp', 'prolog', 'fortran');
    expected.push('pascal', 'd', 'ada', 'nim', 'crystal', 'cobol', 'sqlite', 'nasm', 'python-science');
    assert.deepEqual(names, expected.sort());
  });

  it('should start the JVM compilers of scripts/toolchains/jvm.sh as that script made their class data sharing archives', () => {
    // The JVM maps an archive only for the class path and flags it was made with, and says nothing
    // when it cannot: a drift here would only make compiles slower.
    const script = repoFile('scripts/toolchains/jvm.sh');
    const flags = (name: string) => script.match(new RegExp(`^${name}=\\(([^)]*)\\)$`, 'm'))?.[1]?.split(' ');
    const installed = catalog.runtimes.filter((runtime) => runtime.host.install?.[0] === 'scripts/toolchains/jvm.sh');
    assert.deepEqual(installed.map((runtime) => runtime.name).sort(), ['groovy', 'kotlin', 'scala']);
    for (const runtime of installed) {
      const [, language, version] = runtime.host.install ?? [];
      const dest = `/usr/local/lib/sandpod/${language}${version}`;
      const lock = repoFile(`scripts/toolchains/jvm/${language}-${version}.lock`);
      const jars = lock
        .split('\n')
        .filter((line) => line !== '' && !line.startsWith('#'))
        .map((line) => `${dest}/${line.split('/').at(-1)}`);
      // Groovy compiles its script as it runs: its run step is the one the archive was made from.
      const argv = runtime.compile ?? runtime.run;
      const expectedFlags = flags(runtime.compile ? 'compile_flags' : 'run_flags');
      const classPathAt = argv.indexOf('-cp');
      assert.deepEqual(
        argv.slice(1, classPathAt),
        [...(expectedFlags ?? []), `-XX:SharedArchiveFile=${dest}/${language}.jsa`],
        runtime.name,
      );
      assert.equal(argv[classPathAt + 1], jars.join(':'), runtime.name);
      assert.equal(runtime.version.declared, version, runtime.name);
      assert.ok(runtime.image.paths.includes(`${dest}/`), runtime.name);
    }
  });

  it('should make a Runtime spec the CRD schema accepts for every entry, {build} put where a pod mounts it', () => {
    for (const entry of catalog.runtimes) {
      const spec = runtimeSpecOf(entry);
      assert.ok(runtimeSpecSchema.safeParse({ ...spec, image: 'x' }).success, entry.name);
      assert.ok(!JSON.stringify(spec).includes('{build}'), entry.name);
    }
    const c = catalog.runtimes.find((runtime) => runtime.name === 'c');
    assert.ok(c);
    assert.deepEqual(runtimeSpecOf(c).run, ['/sandpod/build/main']);
    assert.equal(POD_BUILD_DIR, PATHS.build);
  });

  it("should keep the chart's files/runtimes.yaml equal to what the catalog generates", () => {
    assert.equal(readFileSync(CHART_RUNTIMES_PATH, 'utf8'), chartRuntimesFile(catalog), `files/runtimes.yaml ${stale}`);
  });

  it('should keep every manifests/runtimes/ file the spec of its catalog entry, with its image', () => {
    for (const entry of catalog.runtimes) {
      const object = yaml.load(repoFile(`manifests/runtimes/${entry.name}.yaml`)) as {
        metadata: { name: string };
        spec: Record<string, unknown>;
      };
      const { image, ...spec } = object.spec;
      assert.equal(object.metadata.name, entry.name);
      assert.equal(image, `sandpod.local/runtime-${entry.name}:dev`);
      assert.deepEqual(spec, runtimeSpecOf(entry), `manifests/runtimes/${entry.name}.yaml ${stale}`);
    }
  });

  it('should name the file and field when an entry has no run command', () => {
    assert.throws(
      () => parseRuntimeCatalog(catalogText({ run: undefined }), 'c.yaml'),
      /^Error: c\.yaml: runtimes\[0\]\.run/,
    );
  });

  it('should refuse a runtime name that is not a DNS label when it would name a Runtime object', () => {
    assert.throws(() => parseRuntimeCatalog(catalogText({ name: 'C_Lang' }), 'c.yaml'), /runtimes\[0\]\.name/);
  });

  it('should refuse a name used twice when an alias repeats another runtime name', () => {
    const text = catalogText({ aliases: ['two'] }, [
      { ...(yaml.load(catalogText()) as { runtimes: object[] }).runtimes[0], name: 'two' },
    ]);
    assert.throws(() => parseRuntimeCatalog(text, 'c.yaml'), /runtimes\[1\]: the name two is used twice/);
  });

  it('should refuse {build} in run when the runtime has no compile step', () => {
    assert.throws(
      () => parseRuntimeCatalog(catalogText({ run: ['{build}/main'] }), 'c.yaml'),
      /runtimes\[0\]\.run: \{build\} needs a compile step/,
    );
  });

  it('should refuse an image exclusion with white space, which build-images.sh would split', () => {
    assert.throws(
      () => parseRuntimeCatalog(catalogText({ image: { command: ['x'], exclude: ['a b'] } }), 'c.yaml'),
      /runtimes\[0\]\.image\.exclude\[0\]/,
    );
  });

  it('should print a shared layer and the images that name it when the catalog has one', () => {
    const text = catalogText({ image: { shared: 'jdk', command: ['x'] } });
    const withLayer = yaml.dump({
      ...(yaml.load(text) as object),
      images: { base: { packages: ['dash'] }, shared: { jdk: { packages: ['jre'], exclude: ['/src\\.zip$'] } } },
    });
    const small = parseRuntimeCatalog(withLayer, 't');
    assert.deepEqual(imageNeeds(small), ['dash', 'jre']);
    const lines = imageSpec(small).split('\n');
    assert.deepEqual(lines.slice(2, 5), [
      'shared-jdk packages jre',
      'shared-jdk paths',
      'shared-jdk exclude /src\\.zip$',
    ]);
    assert.ok(lines.includes('lang shared jdk'), lines.join('\n'));
  });

  it('should refuse an image naming a shared layer the catalog lacks, naming the field', () => {
    assert.throws(
      () => parseRuntimeCatalog(catalogText({ image: { shared: 'jdk', command: ['x'] } }), 'c.yaml'),
      /c\.yaml: runtimes\[0\]\.image\.shared: jdk is not a layer of images\.shared/,
    );
  });

  it('should print the package lists and image spec of the scripts when asked', () => {
    const small = parseRuntimeCatalog(
      catalogText({ image: { packages: ['xx', 'dash'], paths: ['/opt/x/'], needs: ['yy'], command: ['x', 'a b'] } }),
      't',
    );
    assert.deepEqual(imageNeeds(small), ['dash', 'xx', 'yy']);
    assert.deepEqual(imageSpec(small).split('\n'), [
      'base packages dash',
      'base paths',
      'lang packages xx dash',
      'lang paths /opt/x/',
      'lang exclude',
      'lang needs yy',
      'lang shared',
      'lang command ["x","a b"]',
    ]);
    assert.deepEqual(
      hostMissing(small, () => false),
      ['xx'],
    );
    assert.deepEqual(
      hostMissing(small, (path) => path === '/usr/bin/x'),
      [],
    );
  });

  describe('languages to install', () => {
    const small = parseRuntimeCatalog(
      catalogText({ aliases: ['l'], etc: ['/etc/x'] }, [
        {
          name: 'jvmlang',
          fileName: 'main.j',
          run: ['/usr/bin/java', 'main.j'],
          version: {
            declared: '1',
            command: ['/usr/bin/java', '-cp', '/usr/share/a.jar:/usr/share/b.jar', 'V'],
            pattern: '(.*)',
          },
          host: { packages: ['jj'] },
          image: { command: ['java'] },
        },
        {
          name: 'fetched',
          fileName: 'main.f',
          run: ['/usr/local/lib/f/bin/f'],
          version: { declared: '1', command: ['/usr/local/lib/f/bin/f', 'version'], pattern: '(.*)' },
          host: { install: ['scripts/toolchains/f.sh', '1.0', 'abc'] },
          image: { command: ['f'] },
        },
      ]),
      'test',
    );

    it('should select runtimes by name or alias when SANDPOD_LANGUAGES names some, and all when it is empty', () => {
      assert.deepEqual(
        selectedRuntimes(small, 'l, fetched').map((runtime) => runtime.name),
        ['lang', 'fetched'],
      );
      assert.equal(selectedRuntimes(small, '').length, 3);
      assert.equal(selectedRuntimes(small, undefined).length, 3);
      assert.throws(
        () => selectedRuntimes(small, 'lang,cobol'),
        /names cobol, not in runtimes\/catalog\.yaml; known: lang, jvmlang, fetched/,
      );
    });

    it('should count a runtime as lacking when a file its version command names is missing, not only the command', () => {
      const executable = (path: string) => path === '/usr/bin/java' || path === '/usr/bin/x';
      const lacking = (exists: (path: string) => boolean) =>
        hostLacking(small.runtimes, executable, exists).map((runtime) => runtime.name);
      assert.deepEqual(
        lacking(() => true),
        ['fetched'],
      );
      assert.deepEqual(
        lacking((path) => path !== '/usr/share/b.jar'),
        ['jvmlang', 'fetched'],
      );
    });

    it("should print a lacking runtime's install script with its arguments, once", () => {
      assert.deepEqual(
        hostInstalls(
          [...small.runtimes, ...small.runtimes],
          () => false,
          () => false,
        ),
        ['scripts/toolchains/f.sh 1.0 abc'],
      );
      assert.deepEqual(
        hostInstalls(
          small.runtimes,
          () => true,
          () => true,
        ),
        [],
      );
    });

    it('should refuse a runtime with neither Debian packages nor an install script', () => {
      assert.throws(
        () => parseRuntimeCatalog(catalogText({ host: { packages: [] } }), 'test'),
        /Debian packages or an install script/,
      );
    });

    it('should refuse an etc entry outside /etc', () => {
      assert.throws(() => parseRuntimeCatalog(catalogText({ etc: ['/usr/lib/x'] }), 'test'), /right under \/etc/);
    });
  });
});
