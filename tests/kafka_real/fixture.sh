#!/usr/bin/env bash
# ctest fixture `kafka_real` (tests/kafka_real/CMakeLists.txt):
#   fixture.sh start STATE_DIR   a fresh 3-node cluster, topics and ACLs applied
#   fixture.sh stop STATE_DIR    stop it; fails if a process is left, or if a
#                                node died or ran out of heap during the run
# `start` wipes STATE_DIR first (after stopping what may still run there), so
# every ctest run starts from a known state. The cluster is started with
# --stop-with ctest's pid: if ctest itself dies, the cluster is stopped too.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cluster=$here/../../deploy/kafka/cluster.sh
[[ $# -eq 2 ]] || { echo "usage: $0 start|stop STATE_DIR" >&2; exit 2; }
state=$2
# The nodes' heap. A partition costs a node about 50 KB of it (measured: 568
# more partitions, 30 MB more after a full GC). Before test processes deleted
# their topics at exit (tests/fixtures/test_broker.cc) a whole run left about
# 6,100 partitions a node, and cluster.sh's default of 512 MiB ran out near
# the end (OutOfMemoryError, the node fenced, then gone). Now a node holds a
# few hundred at a time; 1 GiB is headroom for the evidence tests' 1 MiB
# records and for test processes that die before deleting theirs.
heap="-Xmx1g -Xms512m"
export KAFKA_HEAP_OPTS=${KAFKA_HEAP_OPTS:-$heap}
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
    # Every test of the run shares these nodes: a node that died or ran out
    # of heap meanwhile fails the tests that used it with timeouts that do
    # not say why. Say it here, where the cause is known.
    problems=()
    for log in "$state"/node-*/kafka.log; do
      [[ -f $log ]] || continue
      node=$(basename "$(dirname "$log")")
      pid=$(cat "$state/$node/kafka.pid" 2>/dev/null || true)
      # ps, not kill -0: a node that died a moment ago may still be a zombie.
      if [[ -z $pid ]] || [[ $(ps -o stat= -p "$pid" 2>/dev/null) != [^Z]* ]]; then
        problems+=("$node was not running at the end of the run")
      fi
      oom=$(grep -c "java.lang.OutOfMemoryError" "$log" || true)
      if ((oom > 0)); then
        problems+=("$node ran out of heap ($oom OutOfMemoryError in $log; heap ${KAFKA_HEAP_OPTS:-$heap})")
      fi
    done
    "$cluster" stop --state-dir "$state"
    if ((${#problems[@]} > 0)); then
      printf 'fixture: %s\n' "${problems[@]}" >&2
      exit 1
    fi
    ;;
  *) echo "usage: $0 start|stop STATE_DIR" >&2; exit 2 ;;
esac
