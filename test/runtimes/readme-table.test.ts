import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseRuntimeCatalog } from '../../contract/runtime-catalog.js';
import { readCatalog } from '../../runtimes/catalog.js';
import { README_PATH, runtimesTable, TABLE_END, TABLE_START, withRuntimesTable } from '../../runtimes/readme-table.js';

describe('README runtimes table', () => {
  it('should match the catalog when README.md is read as committed', () => {
    const readme = readFileSync(README_PATH, 'utf8');
    assert.equal(readme, withRuntimesTable(readme, readCatalog()), 'README.md is stale: run make manifests');
    for (const runtime of readCatalog().runtimes) assert.ok(readme.includes(`| \`${runtime.name}\` |`), runtime.name);
  });

  it('should give name, aliases, version and whether it compiles when an entry has them', () => {
    const catalog = parseRuntimeCatalog(
      JSON.stringify({
        images: { base: { packages: ['dash'] } },
        runtimes: [
          {
            name: 'lang',
            aliases: ['l', 'a|b'],
            fileName: 'main.x',
            compile: ['/usr/bin/xc', 'main.x'],
            run: ['/usr/bin/x'],
            version: { declared: '9.1', command: ['/usr/bin/x'], pattern: '(.*)' },
            host: { packages: ['xx'] },
            image: { command: ['x'] },
          },
        ],
      }),
      'test',
    );
    assert.equal(
      runtimesTable(catalog),
      '| runtime | aliases | version | compiled |\n| --- | --- | --- | --- |\n| `lang` | `l`, `a\\|b` | 9.1 | yes |',
    );
  });

  it('should refuse a README without the markers instead of writing the table anywhere', () => {
    assert.throws(() => withRuntimesTable('# no table here\n', readCatalog()), new RegExp(TABLE_START));
    assert.throws(() => withRuntimesTable(`${TABLE_END}\n${TABLE_START}\n`, readCatalog()), /lacks the markers/);
  });
});
