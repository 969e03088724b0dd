#!/usr/bin/env bash
# Spark Connect for real: start a local Spark Connect server from the pyspark package (Java 17 needed),
# write a small sample lake, run `analyze -e ... --json` on it through DuckDB and through
# `--engine sc://localhost:PORT`, and check the two agree (counts exactly, floats to 1e-9 relative).
# Usage: scripts/check-spark-connect.sh [PORT]     (make installs pyspark[connect] into .venv)
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${1:-15002}"
PY=.venv/bin/python
WORK="$(mktemp -d)"
export SPARK_HOME="$($PY -c 'import pyspark, os; print(os.path.dirname(pyspark.__file__))')"
export SPARK_LOG_DIR="$WORK" SPARK_PID_DIR="$WORK" WORKBENCH_DB="$WORK/wb.duckdb" WORKBENCH_REPORTS="$WORK/reports"
stop() { bash "$SPARK_HOME/sbin/stop-connect-server.sh" >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap stop EXIT
bash "$SPARK_HOME/sbin/start-connect-server.sh" --conf spark.ui.enabled=false \
  --conf spark.connect.grpc.binding.port="$PORT" >/dev/null
$PY -m workbench simulate --format parquet --out "$WORK/lake" --scale 0.02 >/dev/null
for _ in $(seq 1 120); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 1; done
$PY -m workbench analyze -e pdp-shoes-hero --events "$WORK/lake" --json > "$WORK/duckdb.json"
$PY -m workbench analyze -e pdp-shoes-hero --events "$WORK/lake" --engine "sc://localhost:$PORT" --json \
  > "$WORK/connect.json" 2> "$WORK/connect.err" || { cat "$WORK/connect.err"; exit 1; }
$PY - "$WORK/duckdb.json" "$WORK/connect.json" <<'PYEOF'
import json, math, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
worst, bad = 0.0, []
def walk(x, y, path):
    global worst
    if isinstance(x, dict):
        for k in set(x) | set(y):
            if k not in ("source",):
                walk(x.get(k), y.get(k), f"{path}.{k}")
    elif isinstance(x, list) and isinstance(y, list) and len(x) == len(y):
        for i, (u, v) in enumerate(zip(x, y)):
            walk(u, v, f"{path}[{i}]")
    elif isinstance(x, float) and isinstance(y, float) and math.isfinite(x) and math.isfinite(y):
        worst = max(worst, abs(x - y) / max(abs(x), abs(y), 1e-300))
    elif x != y:
        bad.append(path)
walk(a, b, "")
print(f"Spark Connect vs DuckDB: largest relative difference {worst:.1e}; fields that differ: {bad or 'none'}")
sys.exit(0 if worst <= 1e-9 and not bad else 1)
PYEOF
