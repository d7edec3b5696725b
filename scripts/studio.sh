#!/usr/bin/env bash
# Install everything (first run) and open the studio on the bundled models.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  EXTRA_SYSTEM_PACKAGES="xvfb xauth" bash scripts/setup.sh
  echo "no display here: opening the studio on a virtual screen (xvfb-run)" >&2
  exec xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/arstudio "$@"
fi
bash scripts/setup.sh
exec .venv/bin/arstudio "$@"
