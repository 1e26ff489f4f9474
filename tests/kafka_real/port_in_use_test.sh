#!/usr/bin/env bash
# deploy/kafka/cluster.sh's port check before a node starts again: only a
# listener that keeps Kafka from binding 127.0.0.1:PORT counts. liaison-soak
# with every fault kind failed its first Kafka restart ("port ... of node 1 is
# in use by another process"): netcut.sh's forwarders listen on 10.231.0.1
# at every node's ports. Here a listener on 127.0.0.2 stands for them (no
# namespace needed). Needs ss and socat (scripts/dev.sh test installs both).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=/dev/null
source <(sed -n '/^port_in_use() {/,/^}/p' "$here/../../deploy/kafka/cluster.sh")
declare -F port_in_use >/dev/null || { echo "FAIL: no port_in_use in cluster.sh" >&2; exit 1; }
command -v socat >/dev/null || { echo "FAIL: socat is not installed" >&2; exit 1; }

listener=""
trap '[[ -z $listener ]] || kill "$listener" 2>/dev/null || true' EXIT
fail=0

free_port() {
  local p
  for _ in $(seq 100); do
    p=$((20000 + RANDOM % 12000))
    port_in_use "$p" any || { echo "$p"; return 0; }
  done
  echo "FAIL: no free port" >&2
  exit 1
}
# listen ADDRESS PORT: a socat listener, once it listens.
listen() {
  socat "TCP-LISTEN:$2,bind=$1,reuseaddr" /dev/null &
  listener=$!
  for _ in $(seq 100); do
    [[ -n $(ss -Htln "( sport = :$2 )") ]] && return 0
    sleep 0.05
  done
  echo "FAIL: socat does not listen on $1:$2" >&2
  exit 1
}
unlisten() {
  kill "$listener"
  wait "$listener" 2>/dev/null || true
  listener=""
}
# expect in-use|free ADDRESS PORT [any]
expect() {
  local want=$1 address=$2 port=$3 got=free
  port_in_use "$port" ${4:-} && got=in-use
  if [[ $got == "$want" ]]; then
    echo "ok: a listener on $address:$port is $got for a node on 127.0.0.1${4:+ ($4)}"
  else
    echo "FAIL: a listener on $address:$port is $got for a node on 127.0.0.1${4:+ ($4)}, expected $want" >&2
    fail=1
  fi
}

p=$(free_port)
expect free none "$p"
for address in 127.0.0.2 127.0.0.1 0.0.0.0; do
  p=$(free_port)
  listen "$address" "$p"
  case $address in
    127.0.0.2) expect free "$address" "$p" ;;
    *) expect in-use "$address" "$p" ;;
  esac
  expect in-use "$address" "$p" any  # a new port is picked clear of every address
  unlisten
done
exit "$fail"
