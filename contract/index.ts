export * from './limits.js';
export * from './outcome.js';
export * from './request.js';
export * from './responses.js';
export * from './runtime.js';
