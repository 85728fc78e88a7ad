#!/usr/bin/env bash
# One-time setup for the browser tests: a system Chromium (Playwright's own download does not
# work offline) and the unmodified rasa-webchat widget from npm, kept in tests/.artifacts/.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ARTIFACTS="$HERE/.artifacts"
WEBCHAT_VERSION="${RASA_WEBCHAT_VERSION:-1.0.1}"   # `npm view rasa-webchat versions`: 1.0.1 is the newest 1.x

if [ ! -x /usr/bin/chromium ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium
fi

mkdir -p "$ARTIFACTS"
if [ ! -f "$ARTIFACTS/node_modules/rasa-webchat/lib/index.js" ]; then
  cd "$ARTIFACTS"
  [ -f package.json ] || echo '{"name": "rapport-test-artifacts", "private": true}' > package.json
  npm install --no-audit --no-fund --ignore-scripts "rasa-webchat@$WEBCHAT_VERSION"
fi
echo "browser test setup done: $(/usr/bin/chromium --version 2>/dev/null || echo 'no chromium')"
