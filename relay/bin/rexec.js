#!/usr/bin/env node
import "../dist/cli/rexec-cli.js";
