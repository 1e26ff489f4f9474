#!/usr/bin/env bash
# cluster.sh start -> stop leaves no process; start again on the same state
# folder keeps a topic's records. One node, in its own folder.
#   restart_test.sh STATE_DIR
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cluster=$here/../../deploy/kafka/cluster.sh
state=$1
fail() { echo "FAIL: $*" >&2; exit 1; }
"$cluster" stop --state-dir "$state" >/dev/null
rm -rf "$state"
trap '"$cluster" stop --state-dir "$state" >/dev/null 2>&1 || true' EXIT

no_process_left() {
  local left
  left=$(pgrep -f -- "$state/" || true)
  [[ -z $left ]] || fail "processes left after stop: $(ps -o pid=,args= -p "${left//$'\n'/,}")"
  local rc=0
  "$cluster" status --state-dir "$state" >/dev/null || rc=$?
  [[ $rc == 3 ]] || fail "status after stop exits $rc, not 3 (stopped)"
}

t0=$SECONDS
"$cluster" start --nodes 1 --state-dir "$state" --stop-with "$$"
echo "restart_test: first start (fresh folder, PKI minted) $((SECONDS - t0)) s"
eval "$("$cluster" env --state-dir "$state")"
kafka-topics.sh --bootstrap-server "$BOOTSTRAP" --command-config "$COMMAND_CONFIG" --create \
  --topic restart.check --partitions 1 --replication-factor 1
printf 'synthetic-1\nsynthetic-2\nsynthetic-3\n' |
  kafka-console-producer.sh --bootstrap-server "$BOOTSTRAP" --command-config "$COMMAND_CONFIG" \
    --command-property acks=all --topic restart.check
first_bootstrap=$BOOTSTRAP

"$cluster" stop --state-dir "$state"
no_process_left

t0=$SECONDS
"$cluster" start --state-dir "$state" --stop-with "$$"
echo "restart_test: second start (same folder) $((SECONDS - t0)) s"
[[ $(<"$state/bootstrap") == "$first_bootstrap" ]] || fail "the bootstrap address changed across a restart"
got=$(kafka-console-consumer.sh --bootstrap-server "$BOOTSTRAP" --command-config "$COMMAND_CONFIG" \
  --topic restart.check --from-beginning --max-messages 3 --timeout-ms 30000)
[[ $got == $'synthetic-1\nsynthetic-2\nsynthetic-3' ]] || fail "records after restart: '$got'"

"$cluster" stop --state-dir "$state"
no_process_left
trap - EXIT
echo "restart_test: data survived the restart; no process left after either stop"
