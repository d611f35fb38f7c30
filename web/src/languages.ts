import type { Extension } from '@codemirror/state';
import type { RuntimeInfo } from '../../contract/runtime.js';

// Runtimes come from the server, so a new one (kubectl apply of a Runtime) shows up in the picker
// even when the page knows nothing of it: it then gets plain text and its own name. Grammars are
// loaded on first use; most visitors only ever need one.

interface LanguageEntry {
  label: string;
  highlight: () => Promise<Extension>;
}

const python: LanguageEntry = {
  label: 'Python',
  highlight: async () => (await import('@codemirror/lang-python')).python(),
};
const javascript: LanguageEntry = {
  label: 'JavaScript',
  highlight: async () => (await import('@codemirror/lang-javascript')).javascript(),
};
const typescript: LanguageEntry = {
  label: 'TypeScript',
  highlight: async () => (await import('@codemirror/lang-javascript')).javascript({ typescript: true }),
};
const c: LanguageEntry = { label: 'C', highlight: async () => (await import('@codemirror/lang-cpp')).cpp() };
const cpp: LanguageEntry = { label: 'C++', highlight: c.highlight };
const bash: LanguageEntry = {
  label: 'Bash',
  highlight: async () => {
    const [{ StreamLanguage }, { shell }] = await Promise.all([
      import('@codemirror/language'),
      import('@codemirror/legacy-modes/mode/shell'),
    ]);
    return StreamLanguage.define(shell);
  },
};

const LANGUAGES: Record<string, LanguageEntry> = {
  python,
  python3: python,
  javascript,
  js: javascript,
  node: javascript,
  typescript,
  ts: typescript,
  c,
  cpp,
  'c++': cpp,
  bash,
  sh: { ...bash, label: 'Shell' },
};

export function namesOf(runtime: RuntimeInfo): string[] {
  return [runtime.name, ...runtime.aliases];
}

function entryFor(runtime: RuntimeInfo): LanguageEntry | undefined {
  return namesOf(runtime)
    .map((name) => LANGUAGES[name.toLowerCase()])
    .find((entry) => entry !== undefined);
}

export function labelFor(runtime: RuntimeInfo): string {
  const label = entryFor(runtime)?.label ?? runtime.name;
  return runtime.version ? `${label} ${runtime.version}` : label;
}

/** Syntax highlighting for a runtime; none for a language the page does not know. */
export async function highlightingFor(runtime: RuntimeInfo): Promise<Extension> {
  return (await entryFor(runtime)?.highlight()) ?? [];
}
