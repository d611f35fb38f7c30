export * from './conditions.js';
export * from './limits.js';
export * from './outcome.js';
export * from './program-env.js';
export * from './request.js';
export * from './runtime.js';
export * from './signals.js';
export * from './verdict.js';
