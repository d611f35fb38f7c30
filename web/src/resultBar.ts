import { byId } from './dom.js';
import type { OutcomeText } from './outcomeText.js';

// The result bar is a polite live region: screen readers announce each new outcome once, whole.

export class ResultBar {
  private readonly bar = byId('result');
  private readonly compilerPanel = byId<HTMLDetailsElement>('compile-output');

  show(outcome: OutcomeText): void {
    this.bar.dataset.tone = outcome.tone;
    this.part('.result-headline').replaceChildren(outcome.headline);
    this.part('.result-facts').replaceChildren(outcome.facts.join(' · '));
    this.part('.result-notes').replaceChildren(
      ...outcome.notes.map((note) => {
        const item = document.createElement('li');
        item.textContent = note;
        return item;
      }),
    );
  }

  /** The compiler's messages as plain text (readable by screen readers, unlike the terminal). */
  showCompilerOutput(output: string | undefined): void {
    const hasOutput = output !== undefined && output.trim() !== '';
    this.compilerPanel.hidden = !hasOutput;
    this.compilerPanel.open = false;
    this.compilerPanel.querySelector('pre')?.replaceChildren(hasOutput ? output : '');
  }

  private part(selector: string): Element {
    const element = this.bar.querySelector(selector);
    if (!element) throw new Error(`the result bar has no ${selector}`);
    return element;
  }
}

export const message = (headline: string, tone: OutcomeText['tone'], notes: string[] = []): OutcomeText => ({
  headline,
  facts: [],
  notes,
  tone,
});
