export * from './clock.js';
export * from './errors.js';
export * from './histogram.js';
export * from './redact.js';
export * from './sliding-window.js';
