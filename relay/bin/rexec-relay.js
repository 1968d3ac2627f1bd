#!/usr/bin/env node
import "../dist/cli/relay-cli.js";
