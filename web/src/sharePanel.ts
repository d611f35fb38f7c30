import { byId } from './dom.js';
import { type SharedProgram, shareFragment } from './share.js';

/** The Share button's panel: a link to this page with the program in its fragment, ready to copy. */
export class SharePanel {
  private readonly button = byId<HTMLButtonElement>('share');
  private readonly panel = byId('share-panel');
  private readonly link = byId<HTMLInputElement>('share-link');
  private readonly status = byId('share-status');

  constructor(currentProgram: () => SharedProgram | undefined) {
    this.button.addEventListener('click', () => {
      const program = currentProgram();
      if (program) void this.open(program);
    });
    byId('share-copy').addEventListener('click', () => void this.copy());
    byId('share-close').addEventListener('click', () => this.close());
    this.panel.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') this.close();
    });
  }

  private async open(program: SharedProgram): Promise<void> {
    this.link.value = `${location.origin}${location.pathname}${await shareFragment(program)}`;
    this.status.textContent = '';
    this.panel.hidden = false;
    this.button.setAttribute('aria-expanded', 'true');
    this.link.focus();
    this.link.select();
  }

  private close(): void {
    this.panel.hidden = true;
    this.button.setAttribute('aria-expanded', 'false');
    this.button.focus();
  }

  private async copy(): Promise<void> {
    try {
      await navigator.clipboard.writeText(this.link.value);
      this.status.textContent = 'Link copied to the clipboard.';
    } catch {
      // Clipboard access needs a secure context and permission; selecting the link is the fallback.
      this.link.select();
      this.status.textContent = 'This browser does not allow copying here: the link is selected, press Ctrl+C.';
    }
  }
}
