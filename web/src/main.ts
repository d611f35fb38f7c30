import { type ApiErrorBody, RunClient, SandpodApiError, SandpodClient } from '../../client/index.js';
import {
  DEFAULT_LIMITS,
  DEFAULT_MAX_LIMITS,
  LIMIT_NAMES,
  type LimitName,
  type Limits,
} from '../../contract/limit-values.js';
import type { ExecutionResult } from '../../contract/outcome.js';
import type { RuntimeInfo } from '../../contract/runtime.js';
import { showConnection } from './connectionBadge.js';
import { byId } from './dom.js';
import { CodeEditor } from './editor.js';
import { exampleFor } from './examples.js';
import { highlightingFor, labelFor, namesOf } from './languages.js';
import { LimitsPanel } from './limitsPanel.js';
import { LineDiscipline } from './lineDiscipline.js';
import { describePhase, describeResult } from './outcomeText.js';
import { message, ResultBar } from './resultBar.js';
import { programFromFragment } from './share.js';
import { SharePanel } from './sharePanel.js';
import * as storage from './storage.js';
import { TerminalView } from './terminalView.js';
import { askForToken } from './tokenForm.js';

// Wires the page: the editor and the runtime picker make a run request, the RunClient carries it
// over Socket.IO, and the terminal and the result bar show what comes back.

const runtimePicker = byId<HTMLSelectElement>('runtime');
const runButton = byId<HTMLButtonElement>('run');
const stopButton = byId<HTMLButtonElement>('stop');
const limitsDetails = byId<HTMLDetailsElement>('limits');
const screenReaderToggle = byId<HTMLInputElement>('screen-reader');

/** The page may sit under a path prefix behind a proxy; everything it calls is relative to it. */
const basePath = location.pathname.replace(/[^/]*$/, '');
const token = storage.storedToken();
const runShortcut = /Mac|iPhone|iPad/.test(navigator.platform) ? '⌘ Enter' : 'Ctrl+Enter';

const resultBar = new ResultBar();
const terminal = new TerminalView(byId('terminal'));
const discipline = new LineDiscipline();
const editor = new CodeEditor(byId('editor'), { onRun: () => startRun(), onChange: () => scheduleSave() });
const limitsPanel = new LimitsPanel(
  byId('limits-fields'),
  byId('limits-summary'),
  DEFAULT_LIMITS,
  { ...DEFAULT_MAX_LIMITS },
  storage.storedLimits(),
  storage.storeLimits,
);
const api = new SandpodClient({ server: basePath, token });
const client = new RunClient({ server: basePath, token }, showConnection);
new SharePanel(() => (selectedRuntime ? { runtime: selectedRuntime.name, source: editor.source } : undefined));

let runtimes: RuntimeInfo[] = [];
let selectedRuntime: RuntimeInfo | undefined;
/** False once the user ended the input (Ctrl+D) or the run is over. */
let stdinOpen = false;
let outputSeen = false;
let saveTimer: number | undefined;

// ---- runtimes and programs ----

function findRuntime(name: string | undefined): RuntimeInfo | undefined {
  return name ? runtimes.find((runtime) => namesOf(runtime).includes(name)) : undefined;
}

/** Shows a runtime's program: the one given, the last one kept for it, or its example. */
function selectRuntime(runtime: RuntimeInfo, source?: string): void {
  saveNow();
  selectedRuntime = runtime;
  runtimePicker.value = runtime.name;
  storage.storeRuntime(runtime.name);
  editor.load(source ?? storage.storedProgram(runtime.name) ?? exampleFor(namesOf(runtime)));
  highlightingFor(runtime).then(
    (highlighting) => {
      if (selectedRuntime === runtime) editor.highlight(highlighting);
    },
    (error: unknown) => console.error('Could not load syntax highlighting for', runtime.name, error),
  );
}

function scheduleSave(): void {
  window.clearTimeout(saveTimer);
  saveTimer = window.setTimeout(saveNow, 400);
}

function saveNow(): void {
  window.clearTimeout(saveTimer);
  if (selectedRuntime) storage.storeProgram(selectedRuntime.name, editor.source);
}

async function openSharedProgram(): Promise<boolean> {
  if (!location.hash) return false;
  const shared = await programFromFragment(location.hash);
  // The fragment did its job; left in place it would bring the shared program back on every reload.
  history.replaceState(null, '', location.pathname + location.search);
  const runtime = findRuntime(shared?.runtime);
  if (!shared || !runtime) {
    const problem = shared
      ? `This link is for ${shared.runtime}, which this server does not offer`
      : 'This link is damaged';
    resultBar.show(message(problem, 'warning'));
    return false;
  }
  selectRuntime(runtime, shared.source);
  resultBar.show(message(`Opened a shared ${labelFor(runtime)} program`, 'neutral'));
  return true;
}

// ---- running ----

function startRun(): void {
  if (client.running || !selectedRuntime) return;
  const choice = limitsPanel.choice();
  if (!choice.ok) {
    limitsDetails.open = true;
    limitsPanel.focus(choice.field);
    resultBar.show(message('Not started: check the limits', 'failure', [choice.message]));
    return;
  }
  saveNow();
  const runtime = selectedRuntime;
  const limits = limitsPanel.effective(choice.limits);
  terminal.clear();
  terminal.showCursor(true);
  discipline.reset();
  stdinOpen = true;
  outputSeen = false;
  resultBar.showCompilerOutput(undefined);
  setRunning(true);
  resultBar.show(message('Starting…', 'busy'));
  terminal.focus();
  client.run(
    { runtime: runtime.name, source: editor.source, limits: choice.limits, interactive: true },
    {
      onReplay: () => {
        terminal.clear();
        discipline.reset();
      },
      onOutput: (stream, data) => {
        outputSeen = true;
        terminal.write(stream, data);
      },
      onStatus: (phase) => resultBar.show(describePhase(phase, runtime.compiled)),
      onExit: (result) => finishRun(result, limits),
      onError: (error) => runFailed(error),
    },
  );
}

function finishRun(result: ExecutionResult, limits: Limits): void {
  setRunning(false);
  const outcome = describeResult(result, limits);
  resultBar.show(outcome);
  resultBar.showCompilerOutput(result.compile?.output);
  // Compiler errors go where the user is looking, unless the backend already streamed them.
  if (result.reason === 'CompileError' && !outputSeen && result.compile) {
    terminal.write('stderr', result.compile.output);
  }
  terminal.notice(`— ${[outcome.headline, ...outcome.facts].join(' · ')}`);
  terminal.showCursor(false);
}

function runFailed(error: ApiErrorBody): void {
  const stillRunning = client.running;
  if (!stillRunning) setRunning(false);
  const notes: string[] = [];
  if (error.field?.startsWith('limits.')) {
    learnMaximum(error);
    limitsPanel.markInvalid(error.field, error.message);
    limitsDetails.open = true;
  } else if (error.field) {
    notes.push(`Field: ${error.field}`);
  }
  resultBar.show(message(stillRunning ? error.message : `Not started: ${error.message}`, 'failure', notes));
}

/** A 400 for a limit names the tenant's real maximum; the panel believes it from then on. */
function learnMaximum(error: ApiErrorBody): void {
  const name = error.field?.replace(/^limits\./, '') as LimitName;
  const maximum = Number(/maximum of (\d+)/.exec(error.message)?.[1]);
  if (LIMIT_NAMES.includes(name) && Number.isFinite(maximum) && maximum > 0) limitsPanel.lowerMaximum(name, maximum);
}

function stopRun(): void {
  if (!client.running) return;
  client.cancel();
  resultBar.show(message('Stopping…', 'busy'));
}

function typed(data: string): void {
  if (!client.running || !stdinOpen) return;
  const effect = discipline.input(data);
  if (effect.echo) terminal.echo(effect.echo);
  for (const chunk of effect.send) client.stdin(chunk);
  if (effect.endOfInput) {
    stdinOpen = false;
    client.endStdin();
  }
  if (effect.interrupt) stopRun();
}

function setRunning(running: boolean): void {
  if (!running) stdinOpen = false;
  runButton.disabled = running || !selectedRuntime;
  stopButton.disabled = !running;
  // Focus on a button that becomes disabled would otherwise fall back to <body>.
  if (!running && document.activeElement === stopButton) runButton.focus();
}

// ---- events ----

runtimePicker.addEventListener('change', () => {
  const runtime = findRuntime(runtimePicker.value);
  if (runtime) selectRuntime(runtime);
});
runButton.addEventListener('click', startRun);
stopButton.addEventListener('click', stopRun);
terminal.onInput(typed);
byId('limits-reset').addEventListener('click', () => limitsPanel.reset());
// Enter in a limit field must not submit the form (a reload); it runs, as Ctrl+Enter does.
byId('limits-form').addEventListener('submit', (event) => {
  event.preventDefault();
  startRun();
});
screenReaderToggle.checked = storage.storedScreenReaderMode();
terminal.setScreenReaderMode(screenReaderToggle.checked);
screenReaderToggle.addEventListener('change', () => {
  terminal.setScreenReaderMode(screenReaderToggle.checked);
  storage.storeScreenReaderMode(screenReaderToggle.checked);
});

// Ctrl/Cmd+Enter runs from anywhere on the page, the terminal included.
window.addEventListener(
  'keydown',
  (event) => {
    if (event.key !== 'Enter' || !(event.ctrlKey || event.metaKey)) return;
    event.preventDefault();
    event.stopPropagation();
    startRun();
  },
  { capture: true },
);
window.addEventListener('hashchange', () => void openSharedProgram());
window.addEventListener('pagehide', saveNow);
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'hidden') saveNow();
});

async function start(): Promise<void> {
  runButton.querySelector('.shortcut')?.replaceChildren(runShortcut);
  try {
    runtimes = await api.runtimes();
  } catch (error) {
    const reason =
      error instanceof SandpodApiError
        ? `${error.status}: ${error.message}`
        : error instanceof Error
          ? error.message
          : String(error);
    if (error instanceof SandpodApiError && error.status === 401) askForToken(reason, token !== undefined);
    resultBar.show(message('Could not load the list of languages', 'failure', [reason]));
    return;
  }
  // Without an answer the panel keeps the contract's defaults; a 400 still teaches it a maximum.
  api.limits().then(
    (policy) => limitsPanel.adopt(policy, storage.storedLimits()),
    () => undefined,
  );
  runtimePicker.replaceChildren(...runtimes.map((runtime) => new Option(labelFor(runtime), runtime.name)));
  runtimePicker.disabled = runtimes.length === 0;
  if (runtimes.length === 0) {
    resultBar.show(message('This server offers no languages', 'failure'));
    return;
  }
  if (!(await openSharedProgram())) {
    selectRuntime(findRuntime(storage.storedRuntime()) ?? findRuntime('python') ?? (runtimes[0] as RuntimeInfo));
  }
  setRunning(false);
  terminal.notice(`Press Run (${runShortcut}) to start the program.`);
  terminal.notice('Its output appears here, and what you type here goes to its input.');
  terminal.showCursor(false);
  client.connect();
  document.body.dataset.ready = 'true';
}

void start();
