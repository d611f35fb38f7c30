export * from './compare.js';
export * from './judging.js';
export * from './limits.js';
export * from './outcome.js';
export * from './request.js';
export * from './runtime.js';
