#!/usr/bin/env bash
# After a book build: fail loudly when a chapter did not run to its end.
#   tools/check_execution.sh BUILD_DIR
# Jupyter Book only warns when a notebook raises or a cell times out, still writes the
# page (without the missing outputs) and exits 0. myst-nb saves each failure's traceback
# as BUILD_DIR/reports/<page>.err.log; any such file means the book is incomplete.
set -u
reports=${1:?usage: tools/check_execution.sh BUILD_DIR}/reports
failed=$(find "$reports" -name '*.err.log' 2>/dev/null | sort)
[ -z "$failed" ] && exit 0
echo
echo "==> These chapters did not run to the end; their pages lack outputs:"
for log in $failed; do
  echo "---- $log (last lines)"
  tail -n 15 "$log"
done
echo "==> Fix the error (a timeout means a cell ran over the execute.timeout of _config.yml) and build again."
exit 1
