#!/usr/bin/env bash
# Create the virtual environment (when missing) and install the library with its extras.
#   tools/install.sh PYTHON VENV
set -euo pipefail
python=${1:-python3}
venv=${2:-.venv}
if [ ! -x "$venv/bin/python" ]; then
  echo "creating $venv with $($python --version)"
  "$python" -m venv "$venv"
fi
# An editable install: notebooks import the library from src/, so edits show up at once.
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[book,test]"
"$venv/bin/python" -m pip check
touch "$venv/.installed"
