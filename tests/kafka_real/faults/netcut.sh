#!/usr/bin/env bash
# Cuts one node of a deploy/kafka/cluster.sh cluster off the network with a
# network namespace, and heals it (faults.KafkaNodeCutOffTheNetwork).
#
#   netcut.sh check                      # exit 0 if namespaces and veth work here
#   netcut.sh isolate --state-dir DIR --node N
#   netcut.sh cut     --state-dir DIR --node N
#   netcut.sh heal    --state-dir DIR --node N
#   netcut.sh restore --state-dir DIR --node N
#
# The cluster lives on loopback: every node listens on and dials 127.0.0.1,
# and its certificates name only 127.0.0.1 and localhost. `isolate` stops
# node N (SIGKILL) and starts it again inside a namespace of its own,
# joined to the host by a veth pair; TCP forwarders (socat) carry every
# port across the pair, so that each side still dials 127.0.0.1 (TLS passes
# through them untouched):
#
#   host 127.0.0.1:<N's ports>      -> ns  10.231.0.2:<same>  -> node N
#   ns   127.0.0.1:<others' ports>  -> host 10.231.0.1:<same> -> 127.0.0.1
#
# All of node N's traffic, in and out, crosses the pair. `cut` takes the
# namespace's end of the pair down: node N reaches nobody (no route), and
# on the host's side the pair has no carrier, so what is sent to node N is
# dropped without an answer (permanent neighbour entries: no ARP failure
# either), as when a cable is pulled on the far side: connections to it
# hang until their own timeouts. `heal` brings it up again. `restore`
# stops node N, removes the namespace and the forwarders and starts node N
# as before, on the host.
set -euo pipefail

PROG=netcut.sh
here=$(cd "$(dirname "$0")" && pwd)
cluster=$here/../../../deploy/kafka/cluster.sh
die() { echo "$PROG: $*" >&2; exit 1; }
say() { echo "$PROG: $*" >&2; }

cmd=${1:-}
shift || true
state="" node=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --state-dir) state=$2; shift 2 ;;
    --node) node=$2; shift 2 ;;
    *) die "unknown argument '$1'" ;;
  esac
done

ns=liaison-cut
host_if=lzcut0 ns_if=lzcut1
host_ip=10.231.0.1 ns_ip=10.231.0.2

check() {
  command -v socat >/dev/null || { say "socat is not installed"; return 1; }
  command -v ip >/dev/null || { say "ip (iproute2) is not installed"; return 1; }
  local probe=liaison-cut-probe-$$
  ip netns add "$probe" 2>/dev/null || { say "cannot create a network namespace (ip netns add: root or CAP_SYS_ADMIN needed)"; return 1; }
  local ok=0
  ip link add lzprobe0 type veth peer name lzprobe1 2>/dev/null &&
    ip link set lzprobe1 netns "$probe" 2>/dev/null || ok=1
  ip link del lzprobe0 2>/dev/null || true
  ip netns del "$probe" 2>/dev/null || true
  ((ok == 0)) || say "cannot create a veth pair into a namespace (CAP_NET_ADMIN needed)"
  return "$ok"
}

load() {
  [[ -n $state && -n $node ]] || die "--state-dir and --node are needed"
  [[ -f $state/cluster.env ]] || die "no cluster in $state"
  # shellcheck disable=SC1091
  source "$state/cluster.env"
  ((node >= 1 && node <= NODES)) || die "--node $node: the cluster has $NODES nodes"
  fwd_dir=$state/netcut
}

# forward WHERE LISTEN_IP PORT TO_IP: a socat forwarder in the host
# (WHERE=host) or the namespace (WHERE=ns), its pid in $fwd_dir.
forward() {
  local where=$1 from=$2 port=$3 to=$4 run=()
  [[ $where == ns ]] && run=(ip netns exec "$ns")
  setsid "${run[@]}" socat "TCP-LISTEN:$port,bind=$from,fork,reuseaddr" "TCP:$to:$port" \
    >>"$fwd_dir/socat.log" 2>&1 </dev/null &
  echo $! >"$fwd_dir/fwd-$where-$port.pid"
}

listening() {  # WHERE IP PORT
  local run=()
  [[ $1 == ns ]] && run=(ip netns exec "$ns")
  # Java listens on IPv4-mapped addresses: [::ffff:127.0.0.1]:PORT.
  "${run[@]}" ss -Htln "( sport = :$3 )" 2>/dev/null | grep -qE "[ :\[]${2//./\\.}\]?:$3 "
}

wait_listening() {  # WHERE IP PORT
  local deadline=$((SECONDS + 120))
  until listening "$@"; do
    ((SECONDS < deadline)) || die "nothing listens on $2:$3 ($1) after 120 s"
    sleep 0.1
  done
}

teardown() {
  if [[ -d $fwd_dir ]]; then
    local f
    for f in "$fwd_dir"/fwd-*.pid; do
      [[ -f $f ]] || continue
      kill -- "-$(<"$f")" 2>/dev/null || kill "$(<"$f")" 2>/dev/null || true
      rm -f "$f"
    done
  fi
  ip link del "$host_if" 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
}

isolate() {
  load
  check || die "network namespaces do not work here"
  ip netns list | grep -qw "$ns" && die "namespace $ns exists: another cut runs (netcut.sh restore first)"
  local b=BROKER_PORT_$node c=CONTROLLER_PORT_$node n others=()
  for n in $(seq 1 "$NODES"); do
    [[ $n == "$node" ]] && continue
    local ob=BROKER_PORT_$n oc=CONTROLLER_PORT_$n
    others+=("${!ob}" "${!oc}")
  done
  "$cluster" kill --state-dir "$state" --node "$node" >/dev/null 2>&1 || true
  mkdir -p "$fwd_dir"
  : >"$fwd_dir/socat.log"
  ip netns add "$ns"
  ip link add "$host_if" type veth peer name "$ns_if"
  ip link set "$ns_if" netns "$ns"
  ip addr add "$host_ip/30" dev "$host_if"
  ip link set "$host_if" up
  ip netns exec "$ns" ip addr add "$ns_ip/30" dev "$ns_if"
  ip netns exec "$ns" ip link set "$ns_if" up
  ip netns exec "$ns" ip link set lo up
  # Permanent neighbours: a cut drops packets silently instead of failing
  # ARP ("no route to host") after three seconds.
  local host_mac ns_mac
  host_mac=$(cat "/sys/class/net/$host_if/address")
  ns_mac=$(ip netns exec "$ns" cat "/sys/class/net/$ns_if/address")
  ip neigh replace "$ns_ip" lladdr "$ns_mac" dev "$host_if" nud permanent
  ip netns exec "$ns" ip neigh replace "$host_ip" lladdr "$host_mac" dev "$ns_if" nud permanent
  local p
  for p in "${others[@]}"; do
    forward host "$host_ip" "$p" 127.0.0.1
    forward ns 127.0.0.1 "$p" "$host_ip"
  done
  forward host 127.0.0.1 "${!b}" "$ns_ip"
  forward host 127.0.0.1 "${!c}" "$ns_ip"
  for p in "${others[@]}"; do
    wait_listening host "$host_ip" "$p"
    wait_listening ns 127.0.0.1 "$p"
  done
  # The node in the namespace: cluster.sh refuses a port something listens
  # on, so its inbound forwarders start once it listens itself.
  ip netns exec "$ns" "$cluster" start --state-dir "$state" --node "$node" \
    >"$fwd_dir/start.log" 2>&1 &
  local start=$!
  wait_listening ns 127.0.0.1 "${!c}"
  forward ns "$ns_ip" "${!c}" 127.0.0.1
  wait_listening ns 127.0.0.1 "${!b}"
  forward ns "$ns_ip" "${!b}" 127.0.0.1
  wait "$start" || { cat "$fwd_dir/start.log" >&2; die "node $node did not start in $ns"; }
  say "node $node runs in namespace $ns; every port forwarded across $host_if/$ns_if"
}

case $cmd in
  check) check ;;
  isolate) isolate ;;
  cut)
    load
    ip netns exec "$ns" ip link set "$ns_if" down
    say "node $node cut off ($ns_if down)"
    ;;
  heal)
    load
    ip netns exec "$ns" ip link set "$ns_if" up
    say "node $node reachable again ($ns_if up)"
    ;;
  restore)
    load
    if ip netns list | grep -qw "$ns" || [[ -d $fwd_dir ]]; then
      "$cluster" kill --state-dir "$state" --node "$node" >/dev/null 2>&1 || true
      teardown
      rm -rf "$fwd_dir"
      "$cluster" start --state-dir "$state" --node "$node" >/dev/null
      say "node $node runs on the host again"
    fi
    ;;
  *) sed -n '2,10p' "$0" >&2; exit 2 ;;
esac
