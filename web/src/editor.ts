import { indentWithTab, temporarilySetTabFocusMode } from '@codemirror/commands';
import { Compartment, type Extension, Prec } from '@codemirror/state';
import { oneDark } from '@codemirror/theme-one-dark';
import { EditorView, keymap } from '@codemirror/view';
import { basicSetup } from 'codemirror';

// Tab indents, as programmers expect; Escape then Tab leaves the editor, so keyboard users are
// never trapped in it.

export class CodeEditor {
  private readonly view: EditorView;
  private readonly language = new Compartment();

  constructor(parent: HTMLElement, handlers: { onRun: () => void; onChange: () => void }) {
    this.view = new EditorView({
      parent,
      extensions: [
        Prec.highest(
          keymap.of([
            {
              key: 'Mod-Enter',
              run: () => {
                handlers.onRun();
                return true;
              },
            },
          ]),
        ),
        basicSetup,
        keymap.of([indentWithTab, { key: 'Escape', run: temporarilySetTabFocusMode }]),
        oneDark,
        this.language.of([]),
        EditorView.contentAttributes.of({ 'aria-label': 'Program source', 'aria-multiline': 'true' }),
        EditorView.updateListener.of((update) => {
          if (update.docChanged) handlers.onChange();
        }),
      ],
    });
  }

  get source(): string {
    return this.view.state.doc.toString();
  }

  /** Replaces the whole program (a new runtime or a shared link) as one undoable step. */
  load(source: string): void {
    this.view.dispatch({
      changes: { from: 0, to: this.view.state.doc.length, insert: source },
      effects: this.language.reconfigure([]),
      selection: { anchor: 0 },
      scrollIntoView: true,
    });
  }

  highlight(highlighting: Extension): void {
    this.view.dispatch({ effects: this.language.reconfigure(highlighting) });
  }

  focus(): void {
    this.view.focus();
  }
}
