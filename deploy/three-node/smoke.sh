#!/usr/bin/env bash
# Brings the three-node example up on this machine, on loopback, and takes a
# node away without losing a message (deploy/three-node/README.md):
#
#   deploy/three-node/smoke.sh [--build DIR] [--work DIR] [--keep]
#
#  1. checks the example's files: every ${VAR} of liaison-broker@.service is
#     set by each liaison/node-N.env; `systemd-analyze verify` finds nothing
#     wrong in either unit; kafka/server-N.properties hold the settings of the
#     3-node cluster that deploy/kafka/cluster.sh runs;
#  2. a development PKI (certs/scripts/mint-dev-pki.sh) standing in for the
#     network CA: node certificates liaison-broker-1..3, Prometheus's
#     ops-prometheus, the Kafka principals;
#  3. three Kafka nodes with deploy/kafka/cluster.sh (own state folder, own
#     free ports; --stop-with this script) and deploy/kafka/acls.sh;
#  4. Liaison nodes 1 and 2 started with the command of
#     systemd/liaison-broker@.service, instance N and an env file like
#     liaison/node-N.env (addresses 127.0.0.1:0), /etc/liaison and
#     /var/lib/liaison mapped into the work folder;
#  5. RO-IGPR sends an alert through node 1; DE-BKA receives it through node 2;
#  6. node 3 joins: the liaison-policy group's ingress partitions spread over
#     three nodes; if Prometheus is installed (apt-get install prometheus), it
#     runs with prometheus/prometheus.yml (1 s scrapes) and must see all three
#     nodes up, all partitions owned and every alert rule evaluating;
#  7. node 1 stops gracefully (SIGTERM, as `systemctl stop`): its partitions
#     move to nodes 2 and 3; a send with --target node1,node2,node3 fails over
#     past the stopped node; DE-BKA receives it with --target node1,node3;
#     Prometheus sees node 1 down;
#  8. every running node's /metrics over HTTPS with the ops-prometheus
#     certificate (every metric the alert rules name is there, 0 records
#     lost); as the auditor, `liaison audit verify` (chains intact) and
#     `liaison audit list` of both messages (DE-BKA's ALLOW);
#  9. stops Prometheus, nodes 2 and 3 (SIGTERM, exit 0) and Kafka.
# If the script is killed, watchdogs end the nodes and Kafka.
#
# --build: the build folder (default build); --work: scratch folder (default
# build/three-node-smoke, wiped first); --keep: leave the work folder.
# Prints the time each step took. Exit 0 when every check passed.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$root/build work="" keep=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --build) build=$(cd "$2" && pwd); shift 2 ;;
    --work) work=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    *) echo "usage: $0 [--build DIR] [--work DIR] [--keep]" >&2; exit 2 ;;
  esac
done
[[ -n $work ]] || work=$build/three-node-smoke
broker_bin=$build/broker/liaison-broker
cli=$build/connectors/cli/liaison
mint=$root/certs/scripts/mint-dev-pki.sh
cluster=$root/deploy/kafka/cluster.sh
unit=$here/systemd/liaison-broker@.service

t_start=$SECONDS t_step=$SECONDS
say() { echo "smoke: [$((SECONDS - t_start)) s] $*"; }
step() { say "$1 ($((SECONDS - t_step)) s)"; t_step=$SECONDS; }
fail() {
  echo "smoke: FAIL: $*" >&2
  exit 1
}
[[ -x $broker_bin && -x $cli ]] ||
  fail "$broker_bin and $cli must be built (cmake --build $build --target liaison-broker liaison)"

# --- 1. the example's files -------------------------------------------------

# The ExecStart= command of the unit as words (continuation lines joined).
exec_words() {
  sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$unit" | sed -n 's/^ExecStart=//p'
}
unit_vars=$(exec_words | grep -oE '\$\{?[A-Z_]+\}?' | tr -d '${}' | sort -u)
[[ -n $unit_vars ]] || fail "$unit: no variables in ExecStart"
for n in 1 2 3; do
  envf=$here/liaison/node-$n.env
  for v in $unit_vars; do
    grep -qE "^$v=" "$envf" || fail "$envf does not set $v, which $unit uses"
  done
done

# Renders the unit's command for instance N with env file ENV into the array
# `cmd`, as systemd would (${VAR}: one word; $VAR: split at spaces), with the
# installed paths mapped into the work folder.
render_command() {
  local n=$1 envf=$2 w k v
  local -A env=()
  while IFS= read -r line; do
    [[ $line =~ ^([A-Z_]+)=(.*)$ ]] && env[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]}
  done <"$envf"
  cmd=()
  set -f
  for w in $(exec_words); do
    w=${w//%i/$n}
    if [[ $w =~ ^\$\{([A-Z_]+)\}$ || $w =~ ^\$([A-Z_]+)$ ]]; then
      k=${BASH_REMATCH[1]}
      [[ -v env[$k] ]] || fail "$envf does not set $k"
      if [[ $w == '${'* ]]; then
        cmd+=("$(map_path "${env[$k]}")")
      else
        for v in ${env[$k]}; do cmd+=("$(map_path "$v")"); done
      fi
      continue
    fi
    [[ $w == *'$'* ]] && fail "$unit: cannot render '$w'"
    cmd+=("$(map_path "$w")")
  done
  set +f
}
map_path() {  # the installed paths of the example, in the work folder
  local w=$1
  w=${w/#\/usr\/local\/bin\/liaison-broker/$broker_bin}
  w=${w/#\/etc\/liaison/$work/etc}
  w=${w/#\/var\/lib\/liaison/$work/var}
  echo "$w"
}

# kafka/server-N.properties against what cluster.sh runs: every key the same
# except host names, ports and paths (and the development-only rebalance delay).
compare_kafka_config() {
  local n=$1
  local mine=$here/kafka/server-$n.properties dev=$work/kafka/node-$n/server.properties
  local differ='^(controller\.quorum\.voters|listeners|advertised\.listeners|log\.dirs|ssl\.keystore\.location|ssl\.truststore\.location|group\.initial\.rebalance\.delay\.ms)='
  local a b
  a=$(grep -vE '^\s*(#|$)' "$mine" | grep -vE "$differ" | sort)
  b=$(grep -vE '^\s*(#|$)' "$dev" | grep -vE "$differ" | sort)
  [[ $a == "$b" ]] || {
    diff <(echo "$a") <(echo "$b") >&2 || true
    fail "$mine differs from the cluster.sh configuration (< example, > cluster.sh)"
  }
  # The quorum names all three nodes, and this node listens as itself.
  grep -qxE 'controller\.quorum\.voters=1@[^,]+,2@[^,]+,3@[^,]+' "$mine" || fail "$mine: quorum voters"
  grep -qxE "listeners=BROKER://kafka-$n\.internal:9093,CONTROLLER://kafka-$n\.internal:9094" "$mine" ||
    fail "$mine: listeners do not name kafka-$n"
}

# systemd's own check of both units (unknown keys, bad values), with the
# programs they run, which this machine does not have, replaced by /bin/true.
verify_units() {
  command -v systemd-analyze >/dev/null || { say "systemd-analyze not installed: units not verified"; return 0; }
  local d=$work/systemd out
  mkdir -p "$d"
  sed -E 's#(/usr/local/bin/liaison-broker|/opt/kafka/bin/[a-z-]+\.sh)#/bin/true#' \
    "$unit" >"$d/liaison-broker@.service"
  sed -E 's#(/usr/local/bin/liaison-broker|/opt/kafka/bin/[a-z-]+\.sh)#/bin/true#' \
    "$here/systemd/kafka@.service" >"$d/kafka@.service"
  out=$(cd "$d" && systemd-analyze verify --man=no liaison-broker@1.service kafka@1.service 2>&1) || true
  [[ -z $out ]] || fail "systemd-analyze verify: $out"
}

# --- process bookkeeping ----------------------------------------------------

declare -A pid=() target=() admin=() http=()
kafka_started=0
cleanup() {
  local status=$? n
  for n in "${!pid[@]}"; do
    kill -KILL "${pid[$n]}" 2>/dev/null || true
    wait "${pid[$n]}" 2>/dev/null || true
  done
  if ((kafka_started)); then
    "$cluster" stop --state-dir "$work/kafka" >"$work/kafka-stop.log" 2>&1 ||
      { cat "$work/kafka-stop.log" >&2; status=1; }
  fi
  if ((status != 0)); then
    for n in 1 2 3; do
      [[ -f $work/node-$n.log ]] || continue
      echo "---- last lines of $work/node-$n.log" >&2
      tail -n 15 "$work/node-$n.log" >&2
    done
  elif ((keep == 0)); then
    rm -rf "$work"
  fi
  exit "$status"
}

start_node() {  # N: renders the unit's command and runs it in the background
  local n=$1
  local envf=$work/etc/node-$n.env
  cat >"$envf" <<EOF
# node-$n.env of the loopback smoke test (free ports: the node reports them in broker.json)
LIAISON_LISTEN=127.0.0.1:0
LIAISON_ADMIN_LISTEN=127.0.0.1:0
LIAISON_HTTP_LISTEN=127.0.0.1:0
LIAISON_KAFKA_CONFIG=/etc/liaison/kafka/liaison-policy.properties
LIAISON_EXTRA_FLAGS=--workers 1
EOF
  render_command "$n" "$envf"
  printf '%q ' "${cmd[@]}" >"$work/node-$n.command"
  "${cmd[@]}" >"$work/node-$n.log" 2>&1 &
  pid[$n]=$!
  echo "${pid[$n]}" >>"$work/node.pids"
}

# If this script is killed (a ctest timeout), a watchdog ends the nodes it
# started; Kafka has its own (cluster.sh --stop-with). A pid is only killed
# while its command line still names the work folder.
start_watchdog() {
  setsid bash -c '
    while kill -0 "$1" 2>/dev/null; do sleep 1; done
    for p in $(cat "$2" 2>/dev/null); do
      tr "\0" " " <"/proc/$p/cmdline" 2>/dev/null | grep -qF "$3" && kill -KILL "$p"
    done' watchdog $$ "$work/node.pids" "$work/" </dev/null >/dev/null 2>&1 &
}

wait_started() {  # N: until broker.json is written; reads its addresses
  local n=$1
  local json=$work/var/node-$n/broker.json i
  for ((i = 0; i < 600; ++i)); do
    [[ -s $json ]] && break
    kill -0 "${pid[$n]}" 2>/dev/null || fail "node $n exited during start-up"
    sleep 0.2
  done
  [[ -s $json ]] || fail "node $n did not start within 120 s"
  target[$n]=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["target"])' "$json")
  admin[$n]=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["admin_target"])' "$json")
  http[$n]=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["http_url"])' "$json")
}

partitions_of() {  # N: the ingress partitions node N decides now ("" when none)
  "$cli" admin health --as ops-duty-1 --pki "$work/pki" --target "${admin[$1]}" 2>&1 |
    sed -nE 's/^policy stage +ingress partitions ?(.*)$/\1/p'
}

# Waits until the nodes given own every ingress partition between them, each
# some and none twice; prints the assignment.
wait_partitions() {
  local nodes=("$@") n deadline=$((SECONDS + 60)) all line
  while :; do
    all="" line=""
    for n in "${nodes[@]}"; do
      local p
      p=$(partitions_of "$n")
      line+=" node $n: ${p:-none};"
      [[ -n $p ]] || { all=""; break; }
      all+="${all:+,}$p"
    done
    if [[ -n $all ]]; then
      local sorted
      sorted=$(tr ',' '\n' <<<"$all" | sort -n | tr '\n' ' ')
      [[ $sorted == "$(seq -s ' ' 0 $((ingress_partitions - 1))) " ]] && { echo "$line"; return 0; }
    fi
    ((SECONDS < deadline)) || fail "ingress partitions not shared by nodes ${nodes[*]} within 60 s:$line"
    sleep 0.5
  done
}

stop_node() {  # N: SIGTERM, as systemctl stop; the node must exit 0
  local n=$1 status=0 t0=$SECONDS
  kill -TERM "${pid[$n]}"
  wait "${pid[$n]}" || status=$?
  unset "pid[$n]"
  [[ $status == 0 ]] || fail "node $n exited with $status after SIGTERM"
  [[ ! -e $work/var/node-$n/broker.json ]] || fail "node $n left its broker.json behind"
  say "node $n stopped cleanly in $((SECONDS - t0)) s"
}

# Prometheus (when installed) with prometheus/prometheus.yml and its rules:
# installed paths mapped into the work folder, each node's address in place
# of liaison-broker-N.internal:7480, a 1 s scrape interval instead of 15 s.
start_prometheus() {
  local p=$work/prometheus n
  prom_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  local subst=(-e "s|/etc/prometheus/liaison/|$p/|g"
    -e "s|/etc/prometheus/liaison-nodes.rules.yml|$here/prometheus/liaison-nodes.rules.yml|"
    -e "s|scrape_interval: 15s|scrape_interval: 1s|" -e "s|evaluation_interval: 15s|evaluation_interval: 1s|")
  for n in 1 2 3; do
    local hp=${http[$n]#https://}
    subst+=(-e "s|liaison-broker-$n.internal:7480|${hp%/}|")
  done
  sed "${subst[@]}" "$here/prometheus/prometheus.yml" >"$p/prometheus.yml"
  promtool check config "$p/prometheus.yml" >"$p/check.log" 2>&1 ||
    { cat "$p/check.log" >&2; fail "promtool check config (prometheus/prometheus.yml)"; }
  prometheus --config.file="$p/prometheus.yml" --storage.tsdb.path="$p/data" \
    --web.listen-address="127.0.0.1:$prom_port" >"$p/prometheus.log" 2>&1 &
  pid[prom]=$!
  echo "${pid[prom]}" >>"$work/node.pids"
}

prom_query() {  # PROMQL: prints a "node value" line per series of an instant query
  curl -sS --fail "http://127.0.0.1:$prom_port/api/v1/query" --data-urlencode "query=$1" 2>/dev/null |
    python3 -c 'import json,sys
for r in json.load(sys.stdin)["data"]["result"]:
    print(r["metric"].get("node", ""), r["value"][1])' 2>/dev/null
}

wait_prom() {  # PROMQL EXPECTED: until the query prints EXPECTED (30 s)
  local deadline=$((SECONDS + 30)) got
  while :; do
    got=$(prom_query "$1" | sort | tr '\n' ';') || got=""
    [[ $got == "$2" ]] && return 0
    kill -0 "${pid[prom]}" 2>/dev/null || { tail "$work/prometheus/prometheus.log" >&2; fail "prometheus exited"; }
    ((SECONDS < deadline)) || fail "Prometheus: '$1' gives '$got', not '$2', after 30 s"
    sleep 0.5
  done
}

field() {  # FIELD JSON_LINE
  python3 -c 'import json,sys; print(json.loads(sys.argv[2]).get(sys.argv[1], ""))' "$1" "$2"
}

# --- 2. PKI -----------------------------------------------------------------

rm -rf "$work"
mkdir -p "$work"
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
start_watchdog
verify_units
"$mint" init "$work/pki" >/dev/null
for n in 1 2 3; do
  d=$work/etc/node-$n/pki
  mkdir -p "$d/broker"
  cp "$work/pki/ca.pem" "$work/pki/crl.pem" "$d/"
  # Node 1's certificate is the one init issued (CN=liaison-broker-1).
  if [[ $n == 1 ]]; then
    cp "$work/pki/broker/tls.pem" "$work/pki/broker/tls.key" "$d/broker/"
  else
    "$mint" issue "$work/pki" broker "liaison-broker-$n" "$d/broker/tls" \
      --san DNS:localhost,IP:127.0.0.1 >/dev/null
  fi
done
mkdir -p "$work/prometheus"
"$mint" issue "$work/pki" operator ops-prometheus "$work/prometheus/ops-prometheus" >/dev/null
cp "$work/pki/ca.pem" "$work/prometheus/ca.pem"
step "units verified (systemd-analyze); PKI minted: nodes liaison-broker-1..3, ops-prometheus"

# --- 3. Kafka ---------------------------------------------------------------

kafka_started=1
"$cluster" start --nodes 3 --state-dir "$work/kafka" --pki "$work/pki" --stop-with $$ \
  >"$work/kafka-start.log" 2>&1 || { cat "$work/kafka-start.log" >&2; fail "cluster.sh start"; }
for n in 1 2 3; do compare_kafka_config "$n"; done
eval "$("$cluster" env --state-dir "$work/kafka")"
step "Kafka: 3 nodes at $BOOTSTRAP; kafka/server-{1,2,3}.properties match cluster.sh's settings"
# The grants of deploy/kafka/acls.sh that this run needs: the policy nodes'
# (everything under liaison.) and the auditor's (liaison.audit): three
# kafka-acls.sh runs (JVM starts) here, against acls.sh's nine (which also
# grant the front-door principal); kafka_real.topics_and_acls_again tests it.
acl() {
  kafka-acls.sh --bootstrap-server "$BOOTSTRAP" --command-config "$COMMAND_CONFIG" --add "$@" \
    >>"$work/acls.log" 2>&1 || { cat "$work/acls.log" >&2; fail "kafka-acls.sh $*"; }
}
acl --allow-principal User:CN=liaison-policy --operation All \
  --topic liaison. --group liaison --transactional-id liaison. --resource-pattern-type prefixed
acl --allow-principal User:CN=liaison-policy --operation IdempotentWrite --cluster
acl --allow-principal User:CN=liaison-auditor --operation Read --operation Describe \
  --topic liaison.audit
acl --allow-principal User:CN=liaison-auditor --operation Read \
  --group liaison-range- --resource-pattern-type prefixed
step "ACLs: liaison-policy everything under liaison., liaison-auditor reads liaison.audit"

# /etc/liaison: shared files, the Kafka client properties of the example with
# this cluster's bootstrap.
mkdir -p "$work/etc/kafka" "$work/var"
cp "$root/deploy/registry/dev.textproto" "$work/etc/registry.textproto"
head -c 32 /dev/urandom >"$work/etc/pseudonym.key"
cp "$work/pki/ca.pem" "$work/etc/kafka/ca.pem"
cp "$work/pki/kafka/liaison-policy.pem" "$work/pki/kafka/liaison-policy.key" "$work/etc/kafka/"
sed -e "s|^bootstrap.servers=.*|bootstrap.servers=$BOOTSTRAP|" -e "s|/etc/liaison/|$work/etc/|g" \
  "$here/liaison/liaison-policy.properties" >"$work/etc/kafka/liaison-policy.properties"

# --- 4. nodes 1 and 2 -------------------------------------------------------

start_node 1
wait_started 1
start_node 2
wait_started 2
# The ingress topic as node 1 created it: its partitions are what the
# liaison-policy group shares.
ingress_partitions=$(kafka-topics.sh --bootstrap-server "$BOOTSTRAP" --command-config "$COMMAND_CONFIG" \
  --describe --topic liaison.ingress 2>&1 | grep -c 'Partition: ') || fail "kafka-topics.sh --describe liaison.ingress"
((ingress_partitions > 0)) || fail "liaison.ingress has no partitions"
assignment=$(wait_partitions 1 2)
step "nodes 1 (${target[1]}) and 2 (${target[2]}) started; liaison-policy group:$assignment"

# --- 5. send through node 1, receive through node 2 -------------------------

alert=$root/deploy/examples/missing-child-alert.json
out=$("$cli" send --as RO-IGPR --pki "$work/pki" --target "${target[1]}" \
  --review-in 14d --erase-in 30d "$alert") || fail "send through node 1: $out"
id1=$(field message_id "$out")
[[ $(field status "$out") == accepted && -n $id1 ]] || fail "send through node 1: $out"
got=$("$cli" subscribe --as DE-BKA --pki "$work/pki" --target "${target[2]}" --count 1 --idle 60) ||
  fail "subscribe through node 2: $got"
grep -q "\"message_id\":\"$id1\"" <<<"$got" || fail "DE-BKA did not receive $id1 through node 2: $got"
[[ $(field verified "$got") == True ]] || fail "the item is not verified: $got"
step "message $id1 sent through node 1, received by DE-BKA through node 2 (decided by $(field broker "$got"))"

# --- 6. add node 3 ----------------------------------------------------------

t0=$SECONDS
start_node 3
wait_started 3
assignment=$(wait_partitions 1 2 3)
step "node 3 added (${target[3]}): partitions spread in $((SECONDS - t0)) s from its start:$assignment"

have_prometheus=0
if command -v prometheus >/dev/null && command -v promtool >/dev/null; then
  have_prometheus=1
  start_prometheus
  wait_prom 'up{job="liaison"}' "liaison-broker-1 1;liaison-broker-2 1;liaison-broker-3 1;"
  wait_prom 'sum(liaison_policy_owned_partitions)' " $ingress_partitions;"
  # Every alert rule evaluates without error.
  rules=$(grep -c -- '- alert:' "$here/prometheus/liaison-nodes.rules.yml")
  for ((i = 0; i < 60; ++i)); do
    ok=$(curl -sS "http://127.0.0.1:$prom_port/api/v1/rules" | python3 -c 'import json,sys
print(sum(r["health"] == "ok" for g in json.load(sys.stdin)["data"]["groups"] for r in g["rules"]))') || ok=0
    ((ok == rules)) && break
    sleep 0.5
  done
  ((ok == rules)) || fail "Prometheus: $ok of the $rules alert rules evaluate without error"
  step "Prometheus (prometheus/prometheus.yml, its $rules alert rules evaluating) scrapes all three nodes: up, $ingress_partitions partitions owned in all"
else
  say "prometheus and promtool are not installed (apt-get install prometheus): the scrape is checked with curl only"
fi

# --- 7. remove node 1 -------------------------------------------------------

t0=$SECONDS
stop_node 1
assignment=$(wait_partitions 2 3)
step "node 1 removed: its partitions moved in $((SECONDS - t0)) s from SIGTERM:$assignment"
all_targets="${target[1]},${target[2]},${target[3]}"
out=$("$cli" send --as RO-IGPR --pki "$work/pki" --target "$all_targets" \
  --review-in 14d --erase-in 30d "$alert") || fail "send with --target $all_targets: $out"
id2=$(field message_id "$out")
[[ $(field status "$out") == accepted && -n $id2 ]] || fail "failover send: $out"
got=$("$cli" subscribe --as DE-BKA --pki "$work/pki" --target "${target[1]},${target[3]}" \
  --count 1 --idle 60) || fail "subscribe with --target ${target[1]},${target[3]}: $got"
grep -q "\"message_id\":\"$id2\"" <<<"$got" || fail "DE-BKA did not receive $id2: $got"
[[ $(field verified "$got") == True ]] || fail "the item is not verified: $got"
step "message $id2 sent with --target node1,node2,node3 (node 1 stopped), received through node 3"
if ((have_prometheus)); then
  wait_prom 'up{job="liaison"}' "liaison-broker-1 0;liaison-broker-2 1;liaison-broker-3 1;"
  wait_prom 'sum(liaison_policy_owned_partitions)' " $ingress_partitions;"
  step "Prometheus: node 1 down, nodes 2 and 3 up and owning all $ingress_partitions partitions"
fi

# --- 8. metrics and the audit trail -----------------------------------------

prom=$work/prometheus
owned=0
for n in 2 3; do
  metrics=$(curl -sS --fail --cacert "$prom/ca.pem" --cert "$prom/ops-prometheus.pem" \
    --key "$prom/ops-prometheus.key" "${http[$n]%/}/metrics") || fail "scrape of node $n (${http[$n]})"
  echo "$metrics" >"$prom/node-$n.metrics"
  grep -qE "^liaison_node_info\{.*node_id=\"liaison-broker-$n\"" <<<"$metrics" ||
    fail "node $n's /metrics has no liaison_node_info for liaison-broker-$n"
  grep -qxE 'liaison_kafka_reachable 1' <<<"$metrics" || fail "node $n: liaison_kafka_reachable is not 1"
  for m in $(grep -oE 'liaison_[a-z_]+' "$here/prometheus/liaison-nodes.rules.yml" | sort -u); do
    grep -qE "^# TYPE $m " <<<"$metrics" || fail "node $n exports no $m, which liaison-nodes.rules.yml uses"
  done
  lost=$(sed -nE 's/^liaison_kafka_records_lost_total(\{[^}]*\})? ([0-9.e+]+)$/\2/p' <<<"$metrics" |
    awk '{s += $1} END {print s + 0}')
  [[ $lost == 0 ]] || fail "node $n: liaison_kafka_records_lost_total is $lost"
  owned=$((owned + $(sed -nE 's/^liaison_policy_owned_partitions ([0-9]+)$/\1/p' <<<"$metrics")))
done
((owned == ingress_partitions)) ||
  fail "liaison_policy_owned_partitions of nodes 2 and 3 add up to $owned, not $ingress_partitions"
# A curl without a client certificate gets nothing.
if curl -sS --fail --cacert "$prom/ca.pem" "${http[2]%/}/metrics" >/dev/null 2>&1; then
  fail "node 2 served /metrics without an operator certificate"
fi
step "scraped nodes 2 and 3 as ops-prometheus: node ids, Kafka reachable, $owned partitions owned, 0 records lost"

# As the auditor: the hash chains are intact, and each message has its
# decision for DE-BKA in the audit trail.
auditor=(--state-dir "$work/no-broker" --topic-prefix liaison --kafka-bootstrap "$BOOTSTRAP"
  --kafka-property security.protocol=ssl --kafka-property "ssl.ca.location=$work/pki/ca.pem"
  --kafka-property "ssl.certificate.location=$work/pki/kafka/liaison-auditor.pem"
  --kafka-property "ssl.key.location=$work/pki/kafka/liaison-auditor.key")
verify=$("$cli" audit verify --pki "$work/pki" "${auditor[@]}" 2>&1) || fail "liaison audit verify: $verify"
summary=$(grep -E '^audit chain intact' <<<"$verify") || fail "liaison audit verify: $verify"
for id in "$id1" "$id2"; do
  entries=$("$cli" audit list "$id" "${auditor[@]}" 2>&1) || fail "liaison audit list $id: $entries"
  grep -qE "RO-IGPR -> DE-BKA +ALLOW" <<<"$entries" || fail "no ALLOW for DE-BKA in the audit trail of $id: $entries"
done
step "as liaison-auditor: $summary; both messages' decisions for DE-BKA are in it"

# --- 9. stop ----------------------------------------------------------------

if ((have_prometheus)); then
  kill -TERM "${pid[prom]}"
  wait "${pid[prom]}" || fail "prometheus exited with $? on SIGTERM"
  unset "pid[prom]"
fi
stop_node 2
stop_node 3
"$cluster" stop --state-dir "$work/kafka" >"$work/kafka-stop.log" 2>&1 ||
  { cat "$work/kafka-stop.log" >&2; fail "cluster.sh stop"; }
kafka_started=0
step "stopped nodes 2 and 3 and Kafka"
say "passed in $((SECONDS - t_start)) s"
