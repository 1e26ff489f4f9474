#!/usr/bin/env bash
# ctest fixture `kafka_real` (tests/kafka_real/CMakeLists.txt):
#   fixture.sh start STATE_DIR   a fresh 3-node cluster, topics and ACLs applied
#   fixture.sh stop STATE_DIR    stop it; fails if a process is left
# `start` wipes STATE_DIR first (after stopping what may still run there), so
# every ctest run starts from a known state. The cluster is started with
# --stop-with ctest's pid: if ctest itself dies, the cluster is stopped too.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cluster=$here/../../deploy/kafka/cluster.sh
[[ $# -eq 2 ]] || { echo "usage: $0 start|stop STATE_DIR" >&2; exit 2; }
state=$2
case $1 in
  start)
    "$cluster" stop --state-dir "$state" >/dev/null
    rm -rf "$state"
    t0=$SECONDS
    "$cluster" start --nodes 3 --state-dir "$state" --stop-with "$PPID"
    echo "fixture: cluster ready $((SECONDS - t0)) s after start (fetch included)"
    eval "$("$cluster" env --state-dir "$state")"
    t0=$SECONDS
    "$here/../../deploy/kafka/topics.sh" DE-BKA NL-NP >"$state/topics.log" 2>&1 ||
      { cat "$state/topics.log"; exit 1; }
    "$here/../../deploy/kafka/acls.sh" >"$state/acls.log" 2>&1 ||
      { cat "$state/acls.log"; exit 1; }
    # The e2e walkthrough's broker (topic prefix liaison.e2e): `liaison audit
    # verify` reads its audit trail as the auditor.
    kafka-acls.sh --bootstrap-server "$BOOTSTRAP" --command-config "$COMMAND_CONFIG" --add \
      --allow-principal User:CN=liaison-auditor --operation Read --operation Describe \
      --topic liaison.e2e.audit >>"$state/acls.log" 2>&1 || { cat "$state/acls.log"; exit 1; }
    echo "fixture: topics.sh and acls.sh applied in $((SECONDS - t0)) s"
    ;;
  stop)
    "$cluster" stop --state-dir "$state"
    ;;
  *) echo "usage: $0 start|stop STATE_DIR" >&2; exit 2 ;;
esac
