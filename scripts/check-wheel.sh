#!/usr/bin/env bash
# The installable package, as a new user gets it: build the wheel, install it into a fresh virtual
# environment (no --system-site-packages, no editable install, PYTHONPATH cleared) and use it from an
# empty folder outside the repository: --help, check a sample CSV, install the Jupyter kernel, generate
# a small world, build one report (the notebook ships inside the package) and serve the dashboard
# briefly (the panel app ships too), with data and reports under the default home.
#
# Called by .ci/run after `make test` (a separate step, so the test suite's time stays as it is) and by
# `make check-wheel`. Installing every dependency into a fresh venv takes minutes; pip's cache makes
# repeated runs faster. KEEP=1 keeps the temporary folder for a look afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
PY=$(scripts/find-python.sh)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/workbench-wheel.XXXXXX")
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; fi
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
T0=$(date +%s)
step() { echo "== [$(( $(date +%s) - T0 )) s] $*"; }

step "build the wheel"
# from a copy of the tracked (and new, not ignored) files: no build/ or egg-info left in the checkout,
# nothing built from a stale one
mkdir "$TMP/src"
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
  [ -e "$f" ] && printf '%s\0' "$f"; done | tar --null -T - -cf - | tar -xf - -C "$TMP/src"
"$PY" -m pip wheel -v --no-deps -w "$TMP/dist" "$TMP/src" >"$TMP/build.log" 2>&1 \
  || { tail -40 "$TMP/build.log"; exit 1; }
if grep -iE "SetuptoolsDeprecationWarning|deprecated" "$TMP/build.log"; then
  echo "the build printed a setuptools deprecation warning (above)" >&2; exit 1
fi
WHEEL=$(ls "$TMP"/dist/experiment_workbench-*.whl)
"$PY" -m zipfile -l "$WHEEL" | awk '{print $1}' >"$TMP/wheel.txt"
for f in workbench/reports/report-notebook/experiment_report.ipynb workbench/dashboard/panel-app/app.py \
         workbench/dashboard/panel-app/setup.py workbench/presets/model-promotion.yaml workbench/py.typed; do
  grep -qxF "$f" "$TMP/wheel.txt" || { echo "$f is missing from $(basename "$WHEEL")" >&2; exit 1; }
done
echo "$(basename "$WHEEL"): $(wc -l <"$TMP/wheel.txt") files"

step "install it into a fresh venv"
"$PY" -m venv "$TMP/venv"
"$TMP/venv/bin/python" -m pip install --quiet --upgrade pip
"$TMP/venv/bin/python" -m pip install --quiet -c "$REPO/constraints.txt" "$WHEEL"
WB="$TMP/venv/bin/workbench"

# Outside the repository, with nothing of it on the path, and a home of its own (the default location
# of an installed package is $XDG_DATA_HOME/workbench).
mkdir -p "$TMP/work" "$TMP/xdg"
cd "$TMP/work"
unset PYTHONPATH WORKBENCH_HOME WORKBENCH_DB WORKBENCH_REPORTS WORKBENCH_CONFIG VIRTUAL_ENV
export XDG_DATA_HOME="$TMP/xdg"
HOME_DIR="$TMP/xdg/workbench"
where=$("$TMP/venv/bin/python" -c "import workbench; print(workbench.__file__)")
case "$where" in "$TMP/venv/"*) ;; *) echo "workbench imported from $where, not the venv" >&2; exit 1;; esac

step "workbench --help, version, check a sample"
"$WB" --help >/dev/null
"$WB" version
cp "$REPO/data/samples/ab_results.csv" results.csv
"$WB" check results.csv
"$WB" analyze results.csv --json >analysis.json

step "workbench kernel install"
"$WB" kernel install
"$WB" kernel show

step "a small world, one report"
"$WB" simulate --scale 0.02
test -f "$HOME_DIR/data/workbench.duckdb" || { echo "no database under $HOME_DIR" >&2; exit 1; }
"$WB" report pdp-shoes-hero
for f in report.html memo.html summary.json; do
  test -s "$HOME_DIR/reports/pdp-shoes-hero/$f" || { echo "report: $f missing" >&2; exit 1; }
done

step "serve the dashboard briefly"
PORT=$("$TMP/venv/bin/python" -c "from workbench.dashboard.server import free_port; print(free_port())")
"$WB" serve --port "$PORT" >"$TMP/serve.log" 2>&1 &
SERVER_PID=$!
"$TMP/venv/bin/python" - "$PORT" <<'PY'
import json, sys, time, urllib.request
base = f"http://127.0.0.1:{sys.argv[1]}"
deadline = time.monotonic() + 180
while True:
    try:
        with urllib.request.urlopen(f"{base}/app", timeout=30) as r:
            page = r.read().decode("utf-8", "replace")
        break
    except OSError:
        if time.monotonic() > deadline:
            sys.exit("the dashboard did not answer within 180 s")
        time.sleep(1)
assert "Experiment Workbench" in page, page[:500]
with urllib.request.urlopen(f"{base}/api/status", timeout=30) as r:
    status = json.load(r)
print(f"dashboard answered: /app ({len(page):,} bytes), /api/status {sorted(status)[:6]}")
PY
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""

step "the wheel works outside the repository"
