#!/usr/bin/env bash
# ctest fixture `kafka_faults` (faults/CMakeLists.txt): the fault tests' own
# 3-node cluster, whose nodes they kill.
#   fixture.sh start STATE_DIR   a fresh 3-node cluster with deploy/kafka/acls.sh applied
#   fixture.sh stop STATE_DIR    stop it; fails if a process is left
# Unlike ../fixture.sh, no topics.sh: the broker nodes of each test create
# their topics under a prefix of their own (a minute less on 2 busy cores).
# `start` wipes STATE_DIR first; the cluster is started with --stop-with
# ctest's pid, so it stops if ctest dies.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
kafka=$here/../../../deploy/kafka
[[ $# -eq 2 ]] || { echo "usage: $0 start|stop STATE_DIR" >&2; exit 2; }
state=$2
case $1 in
  start)
    "$kafka/cluster.sh" stop --state-dir "$state" >/dev/null
    rm -rf "$state"
    t0=$SECONDS
    "$kafka/cluster.sh" start --nodes 3 --state-dir "$state" --stop-with "$PPID" --timeout 600
    echo "fixture: cluster ready $((SECONDS - t0)) s after start"
    eval "$("$kafka/cluster.sh" env --state-dir "$state")"
    t0=$SECONDS
    "$kafka/acls.sh" >"$state/acls.log" 2>&1 || { cat "$state/acls.log"; exit 1; }
    echo "fixture: acls.sh applied in $((SECONDS - t0)) s"
    ;;
  stop)
    "$kafka/cluster.sh" stop --state-dir "$state"
    ;;
  *) echo "usage: $0 start|stop STATE_DIR" >&2; exit 2 ;;
esac
