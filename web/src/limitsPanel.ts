import type { LimitName, LimitPolicyValues, Limits, RequestedLimits } from '../../contract/limit-values.js';
import { formatBytes, formatTimeLimit } from './units.js';

// The limits a user may change, in units people think in. Only values that differ from the
// defaults are sent, so the tenant's own defaults on the server still apply to the rest.

interface LimitField {
  name: LimitName;
  label: string;
  unit: string;
  /** How many of the limit's own units one unit of the input is. */
  scale: number;
  step: number;
  describe: (value: number) => string;
}

const FIELDS: LimitField[] = [
  { name: 'wallTimeMs', label: 'Wall time', unit: 's', scale: 1000, step: 0.5, describe: formatTimeLimit },
  { name: 'cpuTimeMs', label: 'CPU time', unit: 's', scale: 1000, step: 0.5, describe: formatTimeLimit },
  {
    name: 'memoryMiB',
    label: 'Memory',
    unit: 'MiB',
    scale: 1,
    step: 16,
    describe: (mib) => formatBytes(mib * 1024 * 1024),
  },
  { name: 'outputBytes', label: 'Output', unit: 'KiB', scale: 1024, step: 1, describe: formatBytes },
];

export type LimitsChoice = { ok: true; limits: RequestedLimits } | { ok: false; field: string; message: string };

export class LimitsPanel {
  private readonly inputs = new Map<LimitName, HTMLInputElement>();
  private readonly errors = new Map<LimitName, HTMLElement>();
  private readonly hints = new Map<LimitName, HTMLElement>();

  constructor(
    container: HTMLElement,
    private readonly summary: HTMLElement,
    private defaults: Limits,
    private maxima: Limits,
    chosen: RequestedLimits,
    private readonly onChange: (limits: RequestedLimits) => void,
  ) {
    for (const field of FIELDS) container.append(this.renderField(field));
    this.set(chosen);
  }

  /** The limits to send, or the first field that cannot be sent. Marks every bad field. */
  choice(): LimitsChoice {
    const limits: RequestedLimits = {};
    let firstError: LimitsChoice | undefined;
    for (const field of FIELDS) {
      const input = this.input(field.name);
      const value = Math.round(Number(input.value) * field.scale);
      let message = '';
      if (input.value.trim() === '' || !Number.isFinite(value) || value <= 0) {
        message = `${field.label} must be a positive number of ${field.unit}`;
      } else if (value > this.maxima[field.name]) {
        message = `${field.label} can be at most ${field.describe(this.maxima[field.name])}`;
      }
      this.showError(field.name, message);
      if (message) {
        firstError ??= { ok: false, field: `limits.${field.name}`, message };
      } else if (value !== this.defaults[field.name]) {
        limits[field.name] = value;
      }
    }
    return firstError ?? { ok: true, limits };
  }

  /** The limits a run gets when started with `requested`, for describing its outcome. */
  effective(requested: RequestedLimits): Limits {
    return { ...this.defaults, ...requested };
  }

  /** Takes the tenant's own defaults and maxima from the server, keeping what the user chose. */
  adopt(policy: LimitPolicyValues, chosen: RequestedLimits): void {
    this.defaults = { ...policy.defaults };
    this.maxima = { ...policy.maxima };
    for (const field of FIELDS) {
      this.input(field.name).max = String(this.maxima[field.name] / field.scale);
      const hint = this.hints.get(field.name);
      if (hint) hint.textContent = this.hintText(field);
    }
    this.set(chosen);
  }

  /** The server named a lower maximum than the page assumed (a 400): believe it from now on. */
  lowerMaximum(name: LimitName, maximum: number): void {
    this.maxima[name] = maximum;
    const field = FIELDS.find((candidate) => candidate.name === name);
    if (!field) return;
    this.input(name).max = String(maximum / field.scale);
    const hint = this.hints.get(name);
    if (hint) hint.textContent = this.hintText(field);
  }

  /** Shows a message the server gave for one field, such as `limits.memoryMiB`. */
  markInvalid(path: string, message: string): boolean {
    const name = path.replace(/^limits\./, '') as LimitName;
    if (!this.inputs.has(name)) return false;
    this.showError(name, message);
    return true;
  }

  focus(path: string): void {
    this.inputs.get(path.replace(/^limits\./, '') as LimitName)?.focus();
  }

  reset(): void {
    this.set({});
    this.changed();
  }

  private set(chosen: RequestedLimits): void {
    for (const field of FIELDS) {
      const value = chosen[field.name] ?? this.defaults[field.name];
      this.input(field.name).value = String(value / field.scale);
      this.showError(field.name, '');
    }
    this.updateSummary();
  }

  private renderField(field: LimitField): HTMLElement {
    const id = `limit-${field.name}`;
    const wrapper = document.createElement('div');
    wrapper.className = 'limit-field';

    const label = document.createElement('label');
    label.htmlFor = id;
    label.textContent = `${field.label} (${field.unit})`;

    const input = document.createElement('input');
    input.id = id;
    input.type = 'number';
    input.inputMode = 'decimal';
    input.min = String(field.step);
    input.step = String(field.step);
    input.max = String(this.maxima[field.name] / field.scale);
    input.setAttribute('aria-describedby', `${id}-hint ${id}-error`);
    input.addEventListener('input', () => this.changed());

    const hint = document.createElement('p');
    hint.id = `${id}-hint`;
    hint.className = 'limit-hint';
    hint.textContent = this.hintText(field);

    const error = document.createElement('p');
    error.id = `${id}-error`;
    error.className = 'limit-error';

    this.inputs.set(field.name, input);
    this.errors.set(field.name, error);
    this.hints.set(field.name, hint);
    wrapper.append(label, input, hint, error);
    return wrapper;
  }

  private hintText(field: LimitField): string {
    return `Default ${field.describe(this.defaults[field.name])}, at most ${field.describe(this.maxima[field.name])}`;
  }

  private changed(): void {
    const choice = this.choice();
    this.updateSummary();
    if (choice.ok) this.onChange(choice.limits);
  }

  private updateSummary(): void {
    const parts = FIELDS.filter((field) => field.name !== 'cpuTimeMs').map((field) => {
      const value = Math.round(Number(this.input(field.name).value) * field.scale);
      return `${field.label} ${Number.isFinite(value) && value > 0 ? field.describe(value) : '?'}`;
    });
    this.summary.textContent = parts.join(' · ');
  }

  private showError(name: LimitName, message: string): void {
    const input = this.input(name);
    const error = this.errors.get(name);
    if (error) error.textContent = message;
    if (message) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
  }

  private input(name: LimitName): HTMLInputElement {
    const input = this.inputs.get(name);
    if (!input) throw new Error(`no input for limit ${name}`);
    return input;
  }
}
