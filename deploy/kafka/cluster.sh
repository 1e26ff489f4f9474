#!/usr/bin/env bash
# A local Apache Kafka KRaft cluster on loopback, over mutual TLS, for
# development (1 node) and tests and benchmarks (3 nodes).
#
#   deploy/kafka/cluster.sh start  [--nodes 1|3] [--state-dir DIR] [--pki DIR]
#                                  [--timeout SECONDS] [--stop-with PID]
#   deploy/kafka/cluster.sh stop   [--state-dir DIR]
#   deploy/kafka/cluster.sh status [--state-dir DIR]
#   deploy/kafka/cluster.sh env    [--state-dir DIR]    # prints `export ...` lines
#   deploy/kafka/cluster.sh kill   --node N [--state-dir DIR]   # SIGKILL one node (fault tests)
#   deploy/kafka/cluster.sh start  --node N [--state-dir DIR]   # start that node again
#
# DIR defaults to var/kafka. Every node is a combined broker and controller
# (KRaft, static quorum). `start`:
#  - fetches Kafka if needed (fetch.sh; KAFKA_HOME is honoured);
#  - mints a development PKI in DIR/pki unless --pki names one, and adds the
#    Kafka certificates (mint-dev-pki.sh kafka) to it;
#  - on the first start picks free loopback ports and a cluster id and
#    records them, with the node count, in DIR/cluster.env; later starts of
#    the same DIR reuse them and the data in DIR/node-<N>/data;
#  - writes DIR/node-<N>/server.properties, formats new data directories,
#    starts each node in its own session (DIR/node-<N>/kafka.pid, kafka.log);
#  - waits until every node is up and a metadata request through the TLS
#    listener lists all brokers, then writes DIR/bootstrap, DIR/admin.properties
#    (Kafka tools, admin principal) and DIR/clients/<CN>.{librdkafka,java}.properties
#    and prints the bootstrap address.
# `start` on a running cluster only reports it. If `start` fails or is
# interrupted, it stops the nodes it started.
#
# Processes: the nodes are started with setsid in a subshell that exits at
# once, so init adopts (and reaps) them; they outlive the shell that ran
# `start` and are stopped only by `stop` (SIGTERM to every node, a controlled
# shutdown; SIGKILL for what still runs after KAFKA_STOP_GRACE_S, 10 s: the
# last node of a 3-node quorum cannot finish its controlled shutdown alone). Killing the parent of `start` therefore leaves no
# zombie, but leaves the cluster running. --stop-with PID (the ctest
# fixture passes ctest's pid) adds a watchdog, also adopted by init, that
# runs `stop` when process PID goes away. `stop` then checks with
# pgrep that no process names DIR any more.
#
# Environment: KAFKA_HEAP_OPTS (default -Xmx512m -Xms256m per node),
# KAFKA_HOME, LIAISON_KAFKA_CACHE (see fetch.sh).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
readonly PROG=kafka-cluster
readonly MINT=$root/certs/scripts/mint-dev-pki.sh

die() {
  echo "$PROG: error: $*" >&2
  exit 1
}
say() { echo "$PROG: $*" >&2; }

usage() {
  sed -n '5,11p' "$0" >&2
  exit 2
}

[[ $# -ge 1 ]] || usage
cmd=$1
shift
nodes="" state="$root/var/kafka" pki="" timeout=120 watch_pid="" node=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --node) [[ $# -ge 2 && $2 =~ ^[1-9]$ ]] || die "--node needs a node number (1-9)"; node=$2; shift 2 ;;
    --nodes) [[ $# -ge 2 ]] || die "--nodes needs a value"; nodes=$2; shift 2 ;;
    --state-dir) [[ $# -ge 2 ]] || die "--state-dir needs a value"; state=$2; shift 2 ;;
    --pki) [[ $# -ge 2 ]] || die "--pki needs a value"; pki=$2; shift 2 ;;
    --timeout) [[ $# -ge 2 ]] || die "--timeout needs a value"; timeout=$2; shift 2 ;;
    --stop-with) [[ $# -ge 2 && $2 =~ ^[0-9]+$ ]] || die "--stop-with needs a pid"; watch_pid=$2; shift 2 ;;
    *) die "unknown option '$1'" ;;
  esac
done
[[ -z $nodes || $nodes == 1 || $nodes == 3 ]] || die "--nodes must be 1 or 3, not '$nodes'"
[[ $timeout =~ ^[0-9]+$ ]] || die "--timeout must be a number of seconds"
[[ $cmd == kill && -z $node ]] && die "kill needs --node N"
[[ -z $node || $cmd == kill || $cmd == start ]] || die "--node is for kill and start only"
[[ $cmd == start && -z $node ]] && mkdir -p "$state"
if [[ ! -d $state ]]; then
  case $cmd in
    status) echo "no cluster in $state"; exit 3 ;;
    stop) say "no cluster in $state"; exit 0 ;;
    *) die "no cluster in $state" ;;
  esac
fi
state=$(cd "$state" && pwd)
readonly env_file=$state/cluster.env

# --- recorded state -------------------------------------------------------

# Loads NODES, CLUSTER_ID, PKI, BROKER_PORT_<N>, CONTROLLER_PORT_<N>.
load_env() {
  [[ -f $env_file ]] || return 1
  # shellcheck disable=SC1090
  source "$env_file"
}

# port_in_use PORT [any]: something listens on PORT at an address that keeps
# a node from binding 127.0.0.1:PORT (127.0.0.1 itself, or every address);
# with `any`, also a socket in any other state, at any address (used when
# picking new ports). A listener on another address does not count:
# tests/kafka_real/faults/netcut.sh forwards every node's ports on
# 10.231.0.1, and a killed node must start again beside those forwarders.
# Kafka binds with SO_REUSEADDR, so a recorded port in TIME-WAIT after a stop
# is fine.
port_in_use() {
  if command -v ss >/dev/null; then
    if [[ ${2:-} == any ]]; then
      [[ -n $(ss -Htan "( sport = :$1 )" 2>/dev/null) ]]
      return
    fi
    ss -Htln "( sport = :$1 )" 2>/dev/null | awk -v port=":$1" '
      { address = substr($4, 1, length($4) - length(port)); sub(/%.*/, "", address) }
      address ~ /^(127\.0\.0\.1|0\.0\.0\.0|\*|\[::\]|\[::ffff:127\.0\.0\.1\])$/ { found = 1 }
      END { exit !found }'
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
  fi
}

# Sets `port` to one below Linux's ephemeral range (32768+) that nothing
# uses now and that this run has not picked already (no subshell: `picked`
# must persist from one call to the next).
picked=" " port=""
pick_port() {
  local p i
  for i in $(seq 1 200); do
    p=$((20000 + RANDOM % 12000))
    [[ $picked == *" $p "* ]] && continue
    port_in_use "$p" any && continue
    picked+="$p "
    port=$p
    return 0
  done
  die "found no free loopback port in 20000-31999"
}

new_cluster_id() {  # 16 random bytes, base64url without padding (Kafka's Uuid)
  # Never one starting with '-' (as Kafka's own random-uuid): kafka-storage's
  # option parser takes "--cluster-id -..." for a missing value, and 1 start
  # in 64 failed "formatting node 1".
  local id
  while id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n'); [[ $id == -* ]]; do :; done
  echo "$id"
}

node_pid() {  # prints the pid of node N if it runs (and is ours)
  local f=$state/node-$1/kafka.pid pid
  [[ -f $f ]] || return 1
  pid=$(<"$f")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [[ -r /proc/$pid/cmdline ]] || return 1
  # Guards against a recycled pid: the process must name this node's config.
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "$state/node-$1/server.properties" || return 1
  echo "$pid"
}

bootstrap() {
  local n out=""
  for n in $(seq 1 "$NODES"); do
    local v=BROKER_PORT_$n
    out+="${out:+,}127.0.0.1:${!v}"
  done
  echo "$out"
}

# --- configuration files --------------------------------------------------

write_node_config() {
  local n=$1 voters="" supers="User:CN=liaison-kafka-admin" i
  for i in $(seq 1 "$NODES"); do
    local c=CONTROLLER_PORT_$i
    voters+="${voters:+,}$i@127.0.0.1:${!c}"
    supers+=";User:CN=liaison-kafka-$i"
  done
  local b=BROKER_PORT_$n c=CONTROLLER_PORT_$n
  local rf=1 isr=1
  [[ $NODES == 3 ]] && rf=3 isr=2
  mkdir -p "$state/node-$n"
  cat >"$state/node-$n/server.properties" <<EOF
# Written by deploy/kafka/cluster.sh on every start; edits are overwritten.
process.roles=broker,controller
node.id=$n
controller.quorum.voters=$voters
controller.listener.names=CONTROLLER
listeners=BROKER://127.0.0.1:${!b},CONTROLLER://127.0.0.1:${!c}
advertised.listeners=BROKER://127.0.0.1:${!b}
inter.broker.listener.name=BROKER
# Both listeners are mutual TLS: on a shared machine, a process that can
# reach loopback must still hold a certificate of the network CA to join the
# quorum or write metadata.
listener.security.protocol.map=BROKER:SSL,CONTROLLER:SSL
log.dirs=$state/node-$n/data

ssl.keystore.type=PEM
ssl.keystore.location=$state/tls/liaison-kafka-$n.pem
ssl.truststore.type=PEM
ssl.truststore.location=$PKI/ca.pem
ssl.client.auth=required
ssl.endpoint.identification.algorithm=https
# Principal = User:CN=<cn> for certificates of the Kafka role (OU=kafka) of
# the network CA; any other certificate keeps its full DN and so matches no
# ACL of deploy/kafka/acls.sh.
ssl.principal.mapping.rules=RULE:^CN=([A-Za-z0-9._-]+),OU=kafka,O=Liaison Development Network\$/CN=\$1/,DEFAULT
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=$supers

auto.create.topics.enable=false
num.partitions=3
default.replication.factor=$rf
min.insync.replicas=$isr
offsets.topic.replication.factor=$rf
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$isr
# A transaction left open by a crashed Liaison node is aborted once its
# transaction.timeout.ms (10 s) has passed, at the next check: every second
# instead of every 10 s, so the chain's next owner waits ~11 s at most.
transaction.abort.timed.out.transaction.cleanup.interval.ms=1000
# A follower cut off the network leaves the ISR after 10 s (Kafka's default
# is 30 s): until then the leaders hold every acks=all write it follows.
replica.lag.time.max.ms=10000
share.coordinator.state.topic.replication.factor=$rf
share.coordinator.state.topic.min.isr=$isr
unclean.leader.election.enable=false
# Development and tests: a consumer group's first rebalance starts at once.
group.initial.rebalance.delay.ms=0
EOF
}

# Kafka's PEM keystore is one file with the private key and the certificate.
write_keystores() {
  local id
  mkdir -p "$state/tls"
  chmod 700 "$state/tls"
  for id in liaison-kafka-1 liaison-kafka-2 liaison-kafka-3 liaison-kafka-admin \
    liaison-front liaison-policy liaison-auditor; do
    (umask 077 && cat "$PKI/kafka/$id.key" "$PKI/kafka/$id.pem" >"$state/tls/$id.pem")
  done
}

write_client_configs() {
  local id
  mkdir -p "$state/clients"
  for id in liaison-kafka-admin liaison-front liaison-policy liaison-auditor; do
    cat >"$state/clients/$id.java.properties" <<EOF
# Kafka Java tools as $id (written by deploy/kafka/cluster.sh).
security.protocol=SSL
ssl.keystore.type=PEM
ssl.keystore.location=$state/tls/$id.pem
ssl.truststore.type=PEM
ssl.truststore.location=$PKI/ca.pem
EOF
    cat >"$state/clients/$id.librdkafka.properties" <<EOF
# librdkafka (Liaison's clients) as $id (written by deploy/kafka/cluster.sh).
security.protocol=ssl
ssl.ca.location=$PKI/ca.pem
ssl.certificate.location=$PKI/kafka/$id.pem
ssl.key.location=$PKI/kafka/$id.key
EOF
  done
  cp "$state/clients/liaison-kafka-admin.java.properties" "$state/admin.properties"
  bootstrap >"$state/bootstrap"
}

# --- processes ------------------------------------------------------------

# Every process whose command line names a node folder of the state folder
# (a node whose pid file was lost, say).
state_processes() {
  pgrep -f -- "$state/node-" || true
}

launch_node() {
  local n=$1 libs=$2
  rm -f "$state/node-$n/kafka.pid"
  read -r -a heap <<<"${KAFKA_HEAP_OPTS:--Xmx512m -Xms256m}"
  # setsid + a subshell that exits at once: the node belongs to init, not to
  # whoever runs this script. The pid file is written by the process that
  # then becomes java (exec), so it is java's pid whatever setsid does.
  (
    cd "$state/node-$n"
    setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' node "$state/node-$n/kafka.pid" \
      java "${heap[@]}" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
      -Dlog4j2.configurationFile="$here/log4j2-server.properties" \
      -cp "$libs/*" kafka.Kafka "$state/node-$n/server.properties" \
      >>"$state/node-$n/kafka.log" 2>&1 </dev/null &
  )
  local deadline=$((SECONDS + 10))
  until [[ -s $state/node-$n/kafka.pid ]]; do
    ((SECONDS < deadline)) || die "node $n did not start (no pid file after 10 s)"
    sleep 0.05
  done
}

stop_nodes() {  # TERM every node, wait, KILL what is left; then the watchdog
  local n pid pids=() deadline
  for n in $(seq 1 "${NODES:-3}"); do
    if pid=$(node_pid "$n"); then
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
  done
  # All at once: each node's broker then finishes its controlled shutdown
  # while the controller quorum still stands. The last node of a 3-node
  # quorum cannot (its broker waits for a quorum that is gone) and is killed
  # after the grace period; acknowledged records are already in its log files
  # (and on the other replicas), and Kafka recovers the log at the next start.
  local grace=${KAFKA_STOP_GRACE_S:-10}
  deadline=$((SECONDS + grace))
  for pid in "${pids[@]}"; do
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
      say "node process $pid still runs ${grace} s after SIGTERM; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  rm -f "$state"/node-*/kafka.pid
  if [[ -f $state/watchdog.pid ]]; then
    pid=$(<"$state/watchdog.pid")
    [[ $pid != "${WATCHDOG_SELF:-}" ]] && kill -TERM "$pid" 2>/dev/null || true
    rm -f "$state/watchdog.pid"
  fi
  # Anything else still naming the state folder (a node whose pid file was
  # lost, a tool run by hand) would keep it busy: report and end it.
  local rest
  rest=$(state_processes)
  if [[ -n $rest ]]; then
    say "ending processes that still use $state/node-*: $(echo $rest)"
    kill -KILL $rest 2>/dev/null || true
  fi
}

# Watches process $1; stops the cluster when it is gone.
start_watchdog() {
  local parent=$1
  (
    setsid bash -c '
      parent=$1 script=$2 state=$3
      echo $$ >"$state/watchdog.pid"
      while kill -0 "$parent" 2>/dev/null; do sleep 1; done
      echo "$(date -u +%FT%TZ) process $parent is gone: stopping the cluster"
      WATCHDOG_SELF=$$ "$script" stop --state-dir "$state"
    ' watchdog "$parent" "$here/cluster.sh" "$state" >>"$state/watchdog.log" 2>&1 </dev/null &
  )
}

wait_ready() {  # wait_ready DEADLINE LIBS
  local deadline=$1 libs=$2 n pid out count
  export KAFKA_LIBS=$libs
  for n in $(seq 1 "$NODES"); do
    # Only this start's part of the log counts (it is appended to).
    # grep -c, not -q: with pipefail, a grep that stops at the first match
    # fails the pipe once tail has more to write (SIGPIPE), which a restart
    # on a long log hits.
    until [[ $(tail -c +"$((log_offset[n] + 1))" "$state/node-$n/kafka.log" 2>/dev/null |
      grep -c "Kafka Server started") -gt 0 ]]; do
      if ! pid=$(node_pid "$n"); then
        echo "---- last lines of $state/node-$n/kafka.log" >&2
        tail -n 25 "$state/node-$n/kafka.log" >&2 || true
        die "node $n exited during start-up (see above)"
      fi
      ((SECONDS < deadline)) || die "node $n not started after ${timeout} s (see $state/node-$n/kafka.log)"
      sleep 0.2
    done
  done
  wait_listed "$deadline" "$libs"
}

# A metadata request through the TLS listener, as the admin: every broker
# must be listed (registered and unfenced).
wait_listed() {  # wait_listed DEADLINE LIBS
  local deadline=$1 out count
  export KAFKA_LIBS=$2
  while :; do
    out=$("$here/bin/kafka-broker-api-versions.sh" --bootstrap-server "$(bootstrap)" \
      --command-config "$state/clients/liaison-kafka-admin.java.properties" 2>&1) || true
    count=$(grep -cE '^127\.0\.0\.1:[0-9]+ \(id: [0-9]+' <<<"$out" || true)
    [[ $count == "$NODES" ]] && return 0
    if ((SECONDS >= deadline)); then
      echo "$out" | tail -n 15 >&2
      die "the cluster did not list $NODES brokers through TLS within ${timeout} s"
    fi
    sleep 0.5
  done
}

# --- commands -------------------------------------------------------------

cmd_start() {
  local libs n started=()
  libs=$("$here/fetch.sh")
  command -v java >/dev/null || die "java is not installed (Kafka 4.x needs Java 17+; on Debian: apt-get install default-jre-headless)"
  local jv
  jv=$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
  [[ ${jv%%.*} -ge 17 ]] 2>/dev/null || die "java is version '$jv'; Kafka 4.x brokers need Java 17 or later"

  if load_env; then
    [[ -z $nodes || $nodes == "$NODES" ]] ||
      die "$state holds a $NODES-node cluster; use another --state-dir for $nodes nodes"
    [[ -z $pki || $(cd "$pki" && pwd) == "$PKI" ]] ||
      die "$state was started with --pki $PKI; use the same PKI or another --state-dir"
    local running=0
    for n in $(seq 1 "$NODES"); do node_pid "$n" >/dev/null && running=$((running + 1)); done
    if ((running == NODES)); then
      say "already running ($NODES nodes)"
      echo "$(bootstrap)"
      return 0
    fi
    ((running == 0)) || die "only $running of $NODES nodes run; run '$0 stop --state-dir $state' first"
  else
    NODES=${nodes:-1}
    if [[ -n $pki ]]; then
      [[ -f $pki/ca.pem ]] || die "--pki $pki holds no ca.pem (make one with $MINT init $pki)"
      PKI=$(cd "$pki" && pwd)
    else
      PKI=$state/pki
    fi
    CLUSTER_ID=$(new_cluster_id)
    {
      echo "# Written by deploy/kafka/cluster.sh on the first start of this folder."
      echo "NODES=$NODES"
      echo "CLUSTER_ID=$CLUSTER_ID"
      echo "PKI=$PKI"
      for n in $(seq 1 "$NODES"); do
        pick_port
        echo "BROKER_PORT_$n=$port"
        pick_port
        echo "CONTROLLER_PORT_$n=$port"
      done
    } >"$env_file.tmp"
    mv "$env_file.tmp" "$env_file"
    load_env
  fi

  if [[ ! -f $PKI/ca.pem ]]; then
    [[ $PKI == "$state/pki" ]] || die "the PKI $PKI is gone"
    say "minting a development PKI in $PKI"
    "$MINT" init "$PKI" >/dev/null
  fi
  "$MINT" kafka "$PKI" >/dev/null
  write_keystores
  write_client_configs
  echo "$libs" >"$state/libs"  # for `env`: the jars this cluster runs on

  for n in $(seq 1 "$NODES"); do
    local b=BROKER_PORT_$n c=CONTROLLER_PORT_$n
    for p in "${!b}" "${!c}"; do
      port_in_use "$p" && die "port $p of node $n (recorded in $env_file) is in use by another process"
    done
    write_node_config "$n"
    if [[ ! -f $state/node-$n/data/meta.properties ]]; then
      KAFKA_LIBS=$libs "$here/bin/kafka-storage.sh" format --cluster-id "$CLUSTER_ID" \
        --config "$state/node-$n/server.properties" --ignore-formatted >"$state/node-$n/format.log" 2>&1 ||
        { cat "$state/node-$n/format.log" >&2; die "formatting node $n failed"; }
    fi
  done

  # From here on, a failure or an interrupt stops what was started.
  trap 'say "start failed or interrupted; stopping the nodes"; stop_nodes' EXIT
  trap 'exit 130' INT TERM HUP
  local t0=$SECONDS
  log_offset=()
  for n in $(seq 1 "$NODES"); do
    echo "---- start $(date -u +%FT%TZ)" >>"$state/node-$n/kafka.log"
    log_offset[n]=$(stat -c %s "$state/node-$n/kafka.log")
    launch_node "$n" "$libs"
  done
  [[ -z $watch_pid ]] || start_watchdog "$watch_pid"
  wait_ready $((SECONDS + timeout)) "$libs"
  trap - EXIT INT TERM HUP
  say "$NODES-node cluster ready in $((SECONDS - t0)) s; state in $state"
  say "clients: $state/admin.properties (Kafka tools), $state/clients/<CN>.librdkafka.properties"
  say "tools:   eval \"\$($0 env --state-dir $state)\"; kafka-topics.sh --bootstrap-server \$BOOTSTRAP --command-config \$COMMAND_CONFIG --list"
  echo "$(bootstrap)"
}

cmd_stop() {
  if ! load_env; then
    say "no cluster in $state"
    return 0
  fi
  stop_nodes
  local rest deadline=$((SECONDS + 10))
  while rest=$(state_processes) && [[ -n $rest ]] && ((SECONDS < deadline)); do sleep 0.2; done
  [[ -z $rest ]] || die "processes still use $state: $(echo $rest)"
  say "stopped; no process uses $state"
}

cmd_status() {
  load_env || { echo "no cluster in $state"; return 3; }
  local n running=0 pid
  for n in $(seq 1 "$NODES"); do
    local b=BROKER_PORT_$n c=CONTROLLER_PORT_$n
    if pid=$(node_pid "$n"); then
      running=$((running + 1))
      echo "node $n: running (pid $pid), broker 127.0.0.1:${!b}, controller 127.0.0.1:${!c}"
    else
      echo "node $n: stopped, broker 127.0.0.1:${!b}, controller 127.0.0.1:${!c}"
    fi
  done
  echo "bootstrap: $(bootstrap)"
  echo "state: $state (cluster id $CLUSTER_ID, PKI $PKI)"
  ((running == NODES)) && return 0
  ((running == 0)) && return 3
  return 1
}

cmd_env() {
  load_env || die "no cluster in $state (run '$0 start' first)"
  local libs
  if [[ -s $state/libs && -d $(<"$state/libs") ]]; then libs=$(<"$state/libs"); else libs=$("$here/fetch.sh"); fi
  printf 'export PATH=%q:"$PATH"\n' "$here/bin"
  printf 'export KAFKA_LIBS=%q\n' "$libs"
  printf 'export BOOTSTRAP=%q\n' "$(bootstrap)"
  printf 'export COMMAND_CONFIG=%q\n' "$state/admin.properties"
  if [[ $NODES == 3 ]]; then echo 'export RF=3 MIN_ISR=2'; else echo 'export RF=1 MIN_ISR=1'; fi
}

# --- one node (fault tests: tests/kafka_real/faults) ------------------------

# kill --node N: SIGKILL, no controlled shutdown (a crash); waits until the
# process is gone. The other nodes and the watchdog keep running.
cmd_kill_node() {
  load_env || die "no cluster in $state"
  ((node <= NODES)) || die "--node $node: the cluster in $state has $NODES nodes"
  local pid
  pid=$(node_pid "$node") || die "node $node of $state does not run"
  kill -KILL "$pid"
  local deadline=$((SECONDS + 10))
  while kill -0 "$pid" 2>/dev/null; do
    ((SECONDS < deadline)) || die "node $node (pid $pid) still runs 10 s after SIGKILL"
    sleep 0.05
  done
  rm -f "$state/node-$node/kafka.pid"
  say "node $node (pid $pid) killed"
}

# start --node N: starts node N of an existing cluster again (same ports,
# data, configuration) and waits until it runs and, when every node runs, a
# metadata request lists them all.
cmd_start_node() {
  load_env || die "no cluster in $state (start the whole cluster first)"
  ((node <= NODES)) || die "--node $node: the cluster in $state has $NODES nodes"
  node_pid "$node" >/dev/null && { say "node $node already runs"; return 0; }
  local libs n b=BROKER_PORT_$node c=CONTROLLER_PORT_$node
  libs=$("$here/fetch.sh")
  for p in "${!b}" "${!c}"; do
    port_in_use "$p" && die "port $p of node $node is in use by another process"
  done
  for n in $(seq 1 "$NODES"); do
    node_pid "$n" >/dev/null || [[ $n == "$node" ]] || die "node $n does not run either; use start without --node"
  done
  write_node_config "$node"
  echo "---- start $(date -u +%FT%TZ)" >>"$state/node-$node/kafka.log"
  log_offset=()
  log_offset[node]=$(stat -c %s "$state/node-$node/kafka.log")
  local t0=$SECONDS deadline=$((SECONDS + timeout))
  launch_node "$node" "$libs"
  # grep -c, not -q: the log is long by now, and with pipefail a grep that
  # stops early fails the pipe (SIGPIPE).
  until [[ $(tail -c +"$((log_offset[node] + 1))" "$state/node-$node/kafka.log" |
    grep -c "Kafka Server started") -gt 0 ]]; do
    node_pid "$node" >/dev/null || { tail -n 25 "$state/node-$node/kafka.log" >&2; die "node $node exited during start-up (see above)"; }
    ((SECONDS < deadline)) || die "node $node not started after ${timeout} s (see $state/node-$node/kafka.log)"
    sleep 0.2
  done
  wait_listed "$deadline" "$libs"
  say "node $node started again in $((SECONDS - t0)) s"
}

case $cmd in
  start) if [[ -n $node ]]; then cmd_start_node; else cmd_start; fi ;;
  kill) cmd_kill_node ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  env) cmd_env ;;
  -h | --help | help) usage ;;
  *) echo "$PROG: unknown command '$cmd'" >&2; usage ;;
esac
