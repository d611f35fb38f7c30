import path from 'node:path';
import type { RuntimeInfo } from '../contract/runtime.js';

// Which runtime a file is for, from its extension: the usual extensions of each language, then
// any runtime or alias named like the extension (a catalog may add languages this table lacks).

const BY_EXTENSION: Record<string, string[]> = {
  py: ['python'],
  js: ['javascript'],
  mjs: ['javascript'],
  cjs: ['javascript'],
  ts: ['typescript'],
  c: ['c'],
  cc: ['cpp'],
  cpp: ['cpp'],
  cxx: ['cpp'],
  'c++': ['cpp'],
  sh: ['bash'],
  bash: ['bash'],
  go: ['go'],
  rs: ['rust'],
  java: ['java'],
  rb: ['ruby'],
};

export type Guess = { runtime: string } | { problem: string };

export function guessRuntime(file: string, runtimes: RuntimeInfo[]): Guess {
  const extension = path.extname(file).slice(1).toLowerCase();
  if (extension === '') return { problem: `${file} has no extension to guess its runtime from; give --runtime NAME` };
  const offered = (name: string) =>
    runtimes.find((runtime) => runtime.name === name || runtime.aliases.includes(name))?.name;
  for (const candidate of [...(BY_EXTENSION[extension] ?? []), extension]) {
    const name = offered(candidate);
    if (name) return { runtime: name };
  }
  const names = runtimes.map((runtime) => runtime.name).join(', ');
  return { problem: `no runtime of this server runs .${extension} files (it offers ${names}); give --runtime NAME` };
}
