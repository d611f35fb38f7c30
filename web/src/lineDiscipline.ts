// A terminal's cooked mode in miniature: what the user types is echoed and edited locally, and a
// program sees a whole line only when Enter is pressed, as it would behind a real tty.

export interface KeystrokeEffect {
  /** Text to write to the terminal so the user sees what they typed. */
  echo: string;
  /** Chunks to send to the program's stdin, in order. */
  send: string[];
  /** Ctrl-D on an empty line: close stdin. */
  endOfInput: boolean;
  /** Ctrl-C: the user wants the program stopped. */
  interrupt: boolean;
}

// CSI and SS3 sequences (arrows, function keys) and lone escapes: nothing to edit with here.
// biome-ignore lint/suspicious/noControlCharactersInRegex: escape sequences are the point
const ESCAPE_SEQUENCE = /\x1b(?:\[[0-9;?]*[ -/]*[@-~]|O.|.)?/gs;

export class LineDiscipline {
  private line = '';
  private afterCarriageReturn = false;

  /** The characters typed since the last Enter. */
  get pending(): string {
    return this.line;
  }

  reset(): void {
    this.line = '';
    this.afterCarriageReturn = false;
  }

  input(data: string): KeystrokeEffect {
    const effect: KeystrokeEffect = { echo: '', send: [], endOfInput: false, interrupt: false };
    for (const char of data.replace(ESCAPE_SEQUENCE, '')) {
      const isLineFeedOfCrLf = char === '\n' && this.afterCarriageReturn;
      this.afterCarriageReturn = char === '\r';
      if (isLineFeedOfCrLf) continue;
      this.apply(char, effect);
      if (effect.endOfInput || effect.interrupt) break;
    }
    return effect;
  }

  private apply(char: string, effect: KeystrokeEffect): void {
    switch (char) {
      case '\r':
      case '\n':
        effect.echo += '\r\n';
        effect.send.push(`${this.line}\n`);
        this.line = '';
        return;
      case '\x7f':
      case '\b':
        effect.echo += this.erase(1);
        return;
      case '\x15': // Ctrl-U
        effect.echo += this.erase(Array.from(this.line).length);
        return;
      case '\x17': // Ctrl-W
        effect.echo += this.erase(Array.from(this.line.match(/\S*\s*$/)?.[0] ?? '').length);
        return;
      case '\x04': // Ctrl-D: flushes a partial line, or means end of input on an empty one
        if (this.line === '') {
          effect.endOfInput = true;
        } else {
          effect.send.push(this.line);
          this.line = '';
        }
        return;
      case '\x03': // Ctrl-C
        effect.echo += '^C\r\n';
        effect.interrupt = true;
        this.line = '';
        return;
      default:
        if (char === '\t' || char >= ' ') {
          this.line += char;
          effect.echo += char;
        }
    }
  }

  /** Removes up to `count` characters from the end of the line; returns what undoes them on screen. */
  private erase(count: number): string {
    const chars = Array.from(this.line);
    const removed = chars.splice(Math.max(0, chars.length - count));
    this.line = chars.join('');
    return removed.map((char) => (isWide(char) ? '\b\b  \b\b' : '\b \b')).join('');
  }
}

/** Characters a terminal draws two cells wide (CJK, full-width forms, most emoji). */
function isWide(char: string): boolean {
  const code = char.codePointAt(0) ?? 0;
  return (
    (code >= 0x1100 && code <= 0x115f) ||
    (code >= 0x2e80 && code <= 0xa4cf) ||
    (code >= 0xac00 && code <= 0xd7a3) ||
    (code >= 0xf900 && code <= 0xfaff) ||
    (code >= 0xfe30 && code <= 0xfe4f) ||
    (code >= 0xff00 && code <= 0xff60) ||
    (code >= 0xffe0 && code <= 0xffe6) ||
    (code >= 0x1f300 && code <= 0x1faff) ||
    (code >= 0x20000 && code <= 0x3fffd)
  );
}
