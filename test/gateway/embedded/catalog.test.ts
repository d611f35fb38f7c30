import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseCatalog } from '../../../gateway/embedded/catalog.js';

describe('parseCatalog', () => {
  const text = readFileSync(new URL('../../../runtimes/catalog.yaml', import.meta.url), 'utf8');

  it('should read the shipped catalog with the five default languages', () => {
    const names = parseCatalog(text, 'catalog.yaml').map((entry) => entry.name);
    for (const name of ['python', 'javascript', 'c', 'cpp', 'bash']) assert.ok(names.includes(name), name);
  });

  it('should compile into and run from the working directory when an argv names {build}', () => {
    const cpp = parseCatalog(text, 'catalog.yaml').find((entry) => entry.name === 'cpp');
    assert.ok(cpp?.compile?.includes('/work/main'), `${cpp?.compile}`);
    assert.deepEqual(cpp?.run, ['/work/main']);
    assert.equal(cpp?.compileLimits?.memoryMiB, 1024);
  });

  it('should name the file and field when an entry has no run command', () => {
    const entry =
      'images: {base: {packages: [dash]}}\nruntimes:\n  - name: x\n    fileName: a\n' +
      '    version: { declared: "1", command: [a], pattern: b }\n    host: {packages: [a]}\n    image: {command: [a]}\n';
    assert.throws(() => parseCatalog(entry, 'test.yaml'), /test\.yaml: runtimes\[0\]\.run/);
  });
});
