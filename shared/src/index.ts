/**
 * @rexec/shared: the contract between agent, relay, CLI and web. Pure: no I/O.
 * Start reading at protocol/version.ts (protocol flow and changelog).
 */
export * from './protocol/index.js';
export * from './bytes/message-splitter.js';
export * from './api/schemas.js';
export * from './token-format.js';
export * from './backoff.js';
export * from './api/runner.js';
export * from './output/utf8.js';
export * from './runner/template.js';
export * from './runner/examples.js';
export * from './output/ansi.js';
export * from './api/security.js';
export * from './api/schedules.js';
export * from './api/patch.js';
export * from './api/events.js';
export * from './api/shares.js';
