import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseCatalog } from '../../../gateway/embedded/catalog.js';

describe('parseCatalog', () => {
  it('should read the shipped catalog with the five default languages', () => {
    const text = readFileSync(new URL('../../../config/runtimes.yaml', import.meta.url), 'utf8');
    const names = parseCatalog(text, 'runtimes.yaml').map((entry) => entry.name);
    for (const name of ['python', 'javascript', 'c', 'cpp', 'bash']) assert.ok(names.includes(name), name);
  });

  it('should name the field when an entry has no run command', () => {
    const text = 'runtimes:\n  - name: x\n    fileName: a\n    version: { command: [a], pattern: b }\n';
    assert.throws(() => parseCatalog(text, 'test.yaml'), /test\.yaml: runtimes\[0\]\.run/);
  });

  it('should refuse a name used twice when an alias repeats a runtime name', () => {
    const entry = (name: string, alias: string) =>
      `  - name: ${name}\n    aliases: [${alias}]\n    fileName: a\n    run: [a]\n    version: { command: [a], pattern: b }\n`;
    assert.throws(
      () => parseCatalog(`runtimes:\n${entry('one', 'two')}${entry('two', 'three')}`, 't'),
      /two is used twice/,
    );
  });
});
