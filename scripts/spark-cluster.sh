#!/usr/bin/env bash
# A standalone Spark cluster on this machine: one master and N workers, each its own
# JVM, started from the PySpark that regulars uses.  It is the same deployment as a
# multi-machine cluster (start the master on one host and the workers on others,
# pointing at spark://MASTER:7077), so it checks a real cluster run on one box.
#
#   scripts/spark-cluster.sh start [WORKERS] [CORES] [MEMORY]   # default 2 workers, 1 core, 2g each
#   scripts/spark-cluster.sh status
#   scripts/spark-cluster.sh stop
#
# Then set, in the workspace's regulars.toml:
#   [engine]
#   backend = "spark"
#   spark_master = "spark://127.0.0.1:7077"
#   parquet_dir = "/path/every/worker/can/read"
# and run any command (`regulars metrics growth-accounting -w WS`).  docs/scale.md has
# the whole walk-through.
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
python="${REGULARS_PYTHON:-$here/.venv/bin/python}"
state="${REGULARS_SPARK_CLUSTER_DIR:-${TMPDIR:-/tmp}/regulars-spark-cluster}"
host="${REGULARS_SPARK_HOST:-127.0.0.1}"
port="${REGULARS_SPARK_PORT:-7077}"

spark_home() {
    "$python" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))' 2>/dev/null || {
        echo "PySpark is not installed in $python; run: pip install 'regulars[spark]'" >&2
        exit 1
    }
}

start() {
    local workers="${1:-2}" cores="${2:-1}" memory="${3:-2g}"
    local home
    home="$(spark_home)"
    if [ -f "$state/master.pid" ] && kill -0 "$(cat "$state/master.pid")" 2>/dev/null; then
        echo "A cluster is already running (master PID $(cat "$state/master.pid")); stop it first." >&2
        exit 1
    fi
    mkdir -p "$state"
    export SPARK_HOME="$home" PYSPARK_PYTHON="$python"
    "$home/bin/spark-class" org.apache.spark.deploy.master.Master \
        --host "$host" --port "$port" --webui-port 0 >"$state/master.log" 2>&1 &
    echo $! >"$state/master.pid"
    for _ in $(seq 60); do
        grep -q "I have been elected leader" "$state/master.log" && break
        sleep 1
    done
    grep -q "I have been elected leader" "$state/master.log" || {
        echo "The master did not start; see $state/master.log" >&2
        exit 1
    }
    for i in $(seq "$workers"); do
        mkdir -p "$state/worker$i"
        "$home/bin/spark-class" org.apache.spark.deploy.worker.Worker \
            --host "$host" --cores "$cores" --memory "$memory" --webui-port 0 \
            --work-dir "$state/worker$i" "spark://$host:$port" >"$state/worker$i.log" 2>&1 &
        echo $! >"$state/worker$i.pid"
    done
    for _ in $(seq 90); do
        [ "$(grep -c "Registering worker" "$state/master.log" || true)" -ge "$workers" ] && break
        sleep 1
    done
    status
    echo "Master: spark://$host:$port   (logs in $state)"
}

status() {
    local n
    n="$(grep -c "Registering worker" "$state/master.log" 2>/dev/null || true)"
    if [ -f "$state/master.pid" ] && kill -0 "$(cat "$state/master.pid")" 2>/dev/null; then
        echo "Master running (PID $(cat "$state/master.pid")), ${n:-0} worker(s) registered."
    else
        echo "No cluster is running."
    fi
}

stop() {
    local f
    for f in "$state"/worker*.pid "$state"/master.pid; do
        [ -f "$f" ] || continue
        kill "$(cat "$f")" 2>/dev/null || true
        rm -f "$f"
    done
    echo "Stopped."
}

case "${1:-}" in
start) shift; start "$@" ;;
status) status ;;
stop) stop ;;
*)
    sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
