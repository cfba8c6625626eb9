#!/usr/bin/env node
/**
 * The `http-sentinel` command (package.json `bin`). All the work is in `run.ts`; this file
 * only hands it the process and sets the exit code, so pending output still flushes.
 */
import { run } from './run.js';

process.exitCode = await run(process.argv.slice(2), process);
