#!/usr/bin/env node
// Installed as `sgrestore` and `kubectl-sgrestore`: runs the compiled CLI (`npm run build` makes dist/).
import '../dist/src/cli/entry.js';
