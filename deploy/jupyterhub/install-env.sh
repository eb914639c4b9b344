#!/usr/bin/env bash
# The Hub's software, at PREFIX (default /opt/gmmlab-hub), readable by every user:
#   PREFIX/venv   the course environment with JupyterHub (deploy/jupyterhub/requirements.txt, pinned as
#                 requirements/lock.txt) and gmmlab with its course tools (gmmlab_course), on Debian's python3.11, which every user can run (a Python
#                 built under /root, as pyenv's, would be out of the students' reach);
#   PREFIX/proxy  configurable-http-proxy from npm (deploy/jupyterhub/package-lock.json).
# Run as root. Idempotent: it reinstalls only what changed (gmmlab is reinstalled when its sources change).
# setup.sh runs it; `make test` runs it for the test's own prefix (tests/deploy/test_jupyterhub.py).
set -euo pipefail

PREFIX=${1:-/opt/gmmlab-hub}
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
PYTHON=/usr/bin/python3.11

[ "$(id -u)" = 0 ] || { echo "error: run install-env.sh as root (it writes $PREFIX)"; exit 1; }
missing=""
[ -x "$PYTHON" ] && "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null || missing="$missing python3.11 python3.11-venv"
command -v npm >/dev/null || missing="$missing npm"
command -v curl >/dev/null || missing="$missing curl"  # the appendix adds a class with curl
for tool in bwrap setpriv prlimit; do command -v $tool >/dev/null || missing="$missing bubblewrap util-linux"; done
if [ -n "$missing" ]; then
  apt-get update && apt-get install -y --no-install-recommends $(echo $missing | tr ' ' '\n' | sort -u)
fi

mkdir -p "$PREFIX"
chmod 755 "$PREFIX"
VENV=$PREFIX/venv
changed=""
# what the venv was built from; a change rebuilds it in place
inputs=$(sha256sum < "$HERE/requirements.txt" | cut -c1-16)
if [ "$(cat "$VENV/.requirements" 2>/dev/null)" != "$inputs" ]; then
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check pip==24.3.1 setuptools==80.9.0
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$HERE/requirements.txt"
  # Students' servers offer the Assignments tab only: the formgrader and assignment creation belong to the
  # course's grader service, which turns them back on in its own configuration (setup.sh, grader_config/).
  "$VENV/bin/jupyter" server extension disable --sys-prefix nbgrader.server_extensions.formgrader >/dev/null 2>&1
  "$VENV/bin/jupyter" server extension disable --sys-prefix nbgrader.server_extensions.course_list >/dev/null 2>&1
  for ext in formgrader create-assignment course-list; do
    "$VENV/bin/jupyter" labextension disable --level=sys_prefix "@jupyter/nbgrader:$ext" >/dev/null 2>&1
  done
  echo "$inputs" > "$VENV/.requirements"
  rm -f "$VENV/.gmmlab"
  changed=1
fi

gmmlab=$(cd "$REPO" && find gmmlab gmmlab_course pyproject.toml -type f \
  -not -path '*/__pycache__/*' | sort | xargs sha256sum | sha256sum | cut -c1-16)
if [ "$(cat "$VENV/.gmmlab" 2>/dev/null)" != "$gmmlab" ]; then
  build=$(mktemp -d)  # a clean copy, so no build files land in the repository
  (cd "$REPO" && tar cf - pyproject.toml README.md LICENSE gmmlab gmmlab_course) | tar xf - -C "$build"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation \
    --force-reinstall "$build"
  rm -rf "$build"
  echo "$gmmlab" > "$VENV/.gmmlab"
  changed=1
fi

PROXY=$PREFIX/proxy
if ! cmp -s "$HERE/package-lock.json" "$PROXY/package-lock.json" || [ ! -x "$PROXY/node_modules/.bin/configurable-http-proxy" ]; then
  mkdir -p "$PROXY"
  cp "$HERE/package.json" "$HERE/package-lock.json" "$PROXY/"
  (cd "$PROXY" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  changed=1
fi

[ -z "$changed" ] || chmod -R a+rX "$PREFIX"  # every user runs this software
