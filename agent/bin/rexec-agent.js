#!/usr/bin/env node
// V8 heap settings first (src/heap-flags.ts), then the CLI: a dynamic import, so that none of its
// modules load before the settings apply.
import '../dist/heap-flags.js';
await import('../dist/cli.js');
