import type { RuntimeInfo } from '../../../contract/index.js';

/** A runtime as Judge0 CE 1.13 numbers and names it. */
export interface Judge0Language {
  id: number;
  /** Judge0 names a language with its toolchain; the version is the runtime's own. */
  label: string;
}

/**
 * Judge0 CE 1.13's language ids, by sandpod runtime name. Keyed by name so that a language added to
 * runtimes/catalog.yaml gets its Judge0 id here; test/gateway/compat/judge0-languages.test.ts
 * fails while a catalog runtime has none. Entries for languages the catalog lacks are unused.
 * A language Judge0 CE lacks gets an id from 1001 up (SANDPOD_ONLY_IDS_FROM), which no Judge0 id
 * reaches, so that Judge0 clients can still find it in GET /languages.
 */
export const JUDGE0_LANGUAGES: Readonly<Record<string, Judge0Language>> = {
  ada: { id: 1005, label: 'Ada (GNAT)' },
  bash: { id: 46, label: 'Bash' },
  c: { id: 50, label: 'C (GCC)' },
  clojure: { id: 86, label: 'Clojure' },
  cobol: { id: 77, label: 'COBOL (GnuCOBOL)' },
  commonlisp: { id: 55, label: 'Common Lisp (SBCL)' },
  cpp: { id: 54, label: 'C++ (GCC)' },
  crystal: { id: 1007, label: 'Crystal' },
  csharp: { id: 51, label: 'C# (Mono)' },
  d: { id: 56, label: 'D (GDC)' },
  elixir: { id: 57, label: 'Elixir' },
  erlang: { id: 58, label: 'Erlang (OTP)' },
  fortran: { id: 59, label: 'Fortran (GFortran)' },
  go: { id: 60, label: 'Go' },
  groovy: { id: 88, label: 'Groovy' },
  haskell: { id: 61, label: 'Haskell (GHC)' },
  java: { id: 62, label: 'Java (OpenJDK)' },
  javascript: { id: 63, label: 'JavaScript (Node.js)' },
  kotlin: { id: 78, label: 'Kotlin' },
  lua: { id: 64, label: 'Lua' },
  nasm: { id: 45, label: 'Assembly (NASM)' },
  nim: { id: 1006, label: 'Nim' },
  ocaml: { id: 65, label: 'OCaml' },
  octave: { id: 66, label: 'Octave' },
  pascal: { id: 67, label: 'Pascal (FPC)' },
  perl: { id: 85, label: 'Perl' },
  php: { id: 68, label: 'PHP' },
  prolog: { id: 69, label: 'Prolog (SWI-Prolog)' },
  python: { id: 71, label: 'Python' },
  'python-science': { id: 1002, label: 'Python for ML (numpy, scipy, pandas)' },
  r: { id: 80, label: 'R' },
  racket: { id: 1003, label: 'Racket' },
  ruby: { id: 72, label: 'Ruby' },
  rust: { id: 73, label: 'Rust' },
  scala: { id: 81, label: 'Scala' },
  scheme: { id: 1004, label: 'Scheme (Guile)' },
  sqlite: { id: 82, label: 'SQL (SQLite)' },
  tcl: { id: 1001, label: 'Tcl' },
  typescript: { id: 74, label: 'TypeScript' },
};

/** Ids of languages Judge0 CE does not have start here. */
export const SANDPOD_ONLY_IDS_FROM = 1001;

/** What GET /languages lists: id and name, the name carrying the runtime's version. */
export interface Judge0LanguageEntry {
  id: number;
  name: string;
}

export function languageEntry(runtime: RuntimeInfo): Judge0LanguageEntry | undefined {
  const language = JUDGE0_LANGUAGES[runtime.name];
  return language ? { id: language.id, name: `${language.label} (${runtime.version})` } : undefined;
}

/** The available runtimes Judge0 clients can name, by id. */
export function judge0Languages(runtimes: RuntimeInfo[]): Judge0LanguageEntry[] {
  return runtimes
    .map(languageEntry)
    .filter((entry): entry is Judge0LanguageEntry => entry !== undefined)
    .sort((a, b) => a.id - b.id);
}

export function runtimeForLanguageId(runtimes: RuntimeInfo[], id: number): RuntimeInfo | undefined {
  return runtimes.find((runtime) => JUDGE0_LANGUAGES[runtime.name]?.id === id);
}
