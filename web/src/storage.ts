import type { RequestedLimits } from '../../contract/limit-values.js';

// What the page remembers between visits. Storage can be missing or full (private windows,
// quotas); the page then simply forgets, which is why every access is guarded.

const KEYS = {
  token: 'sandpod.token',
  runtime: 'sandpod.runtime',
  limits: 'sandpod.limits',
  screenReader: 'sandpod.screenReader',
  program: (runtime: string) => `sandpod.program.${runtime}`,
};

function read(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

function write(key: string, value: string | null): void {
  try {
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
  } catch (error) {
    console.error('Could not save to localStorage', key, error);
  }
}

export const storedToken = (): string | undefined => read(KEYS.token) || undefined;
export const storeToken = (token: string): void => write(KEYS.token, token || null);

export const storedRuntime = (): string | undefined => read(KEYS.runtime) || undefined;
export const storeRuntime = (runtime: string): void => write(KEYS.runtime, runtime);

export const storedProgram = (runtime: string): string | undefined => read(KEYS.program(runtime)) ?? undefined;
export const storeProgram = (runtime: string, source: string): void => write(KEYS.program(runtime), source);

export function storedLimits(): RequestedLimits {
  const text = read(KEYS.limits);
  if (!text) return {};
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' ? (value as RequestedLimits) : {};
  } catch {
    return {};
  }
}
export const storeLimits = (limits: RequestedLimits): void =>
  write(KEYS.limits, Object.keys(limits).length === 0 ? null : JSON.stringify(limits));

export const storedScreenReaderMode = (): boolean => read(KEYS.screenReader) === 'on';
export const storeScreenReaderMode = (on: boolean): void => write(KEYS.screenReader, on ? 'on' : null);
