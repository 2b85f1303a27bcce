#!/usr/bin/env bash
# Install axe-core (pinned in tests/browser/axe/package.json and its lock file) for the
# accessibility checks of the browser tests. Idempotent: does nothing when it is there.
set -euo pipefail
cd "$(dirname "$0")/../tests/browser/axe"
if [ -f node_modules/axe-core/axe.min.js ]; then
  exit 0
fi
npm ci --no-audit --no-fund --silent
