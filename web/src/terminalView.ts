import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import type { Stream } from '../../contract/outcome.js';

// The program's console: stdout as is, stderr in red, and a dim line of our own between runs.
// Keys the page needs for itself (Tab to move focus, Ctrl+Enter to run, Ctrl+C to copy a
// selection) are left to the browser instead of being sent to the program.

const STDERR_COLOR = '\x1b[91m';
// Not SGR 2 (dim): xterm halves the opacity, which falls below 4.5:1 contrast on this background.
const NOTICE_COLOR = '\x1b[38;2;160;168;180m';
const RESET = '\x1b[0m';

export class TerminalView {
  private readonly terminal: Terminal;
  private readonly fit = new FitAddon();

  constructor(private readonly container: HTMLElement) {
    this.terminal = new Terminal({
      convertEol: true,
      cursorBlink: true,
      cursorInactiveStyle: 'outline',
      fontFamily: 'ui-monospace, "Cascadia Code", "JetBrains Mono", Menlo, Consolas, "DejaVu Sans Mono", monospace',
      fontSize: 14,
      lineHeight: 1.2,
      scrollback: 5000,
      theme: {
        background: '#1e2127',
        foreground: '#dcdfe4',
        cursor: '#61afef',
        selectionBackground: '#3e4451',
        red: '#ef6b73',
        brightRed: '#ff7b84',
        green: '#98c379',
        yellow: '#e5c07b',
        blue: '#61afef',
      },
    });
    this.terminal.loadAddon(this.fit);
    this.terminal.open(container);
    this.terminal.textarea?.setAttribute('aria-label', 'Program input');
    this.terminal.attachCustomKeyEventHandler((event) => !this.isPageKey(event));
    new ResizeObserver(() => this.fitToContainer()).observe(container);
    this.fitToContainer();
  }

  /** Called with what the user types (already decoded into characters by xterm). */
  onInput(listener: (data: string) => void): void {
    this.terminal.onData(listener);
  }

  write(stream: Stream, data: string): void {
    this.terminal.write(stream === 'stderr' ? `${STDERR_COLOR}${data}${RESET}` : data);
  }

  /** Local echo of the user's typing. */
  echo(text: string): void {
    this.terminal.write(text);
  }

  /** A line of the page's own, set apart from the program's output. */
  notice(text: string): void {
    const column = this.terminal.buffer.active.cursorX;
    this.terminal.write(`${column === 0 ? '' : '\r\n'}${NOTICE_COLOR}${text}${RESET}\r\n`);
  }

  clear(): void {
    this.terminal.reset();
  }

  /** Mirrors the screen into text a screen reader can follow, and announces new output. */
  setScreenReaderMode(on: boolean): void {
    this.terminal.options.screenReaderMode = on;
  }

  /** The cursor blinks only while a program can read what is typed. */
  showCursor(visible: boolean): void {
    this.terminal.write(visible ? '\x1b[?25h' : '\x1b[?25l');
  }

  focus(): void {
    this.terminal.focus();
  }

  /** The visible text and scrollback, for tests and for copying everything. */
  text(): string {
    const buffer = this.terminal.buffer.active;
    const lines: string[] = [];
    for (let row = 0; row < buffer.length; row++) {
      lines.push(buffer.getLine(row)?.translateToString(true) ?? '');
    }
    return lines.join('\n').replace(/\n+$/, '');
  }

  private isPageKey(event: KeyboardEvent): boolean {
    if (event.key === 'Tab') return true;
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) return true;
    const copy = (event.ctrlKey || event.metaKey) && event.key.toLowerCase() === 'c';
    return copy && this.terminal.hasSelection();
  }

  private fitToContainer(): void {
    if (this.container.clientWidth > 0 && this.container.clientHeight > 0) this.fit.fit();
  }
}
