#!/usr/bin/env bash
# Creates Liaison's topics on a real Kafka cluster (the broker can also do it
# at start through the Admin API; this script is for clusters where brokers
# may not create topics). Run with Kafka's own tools on the PATH.
#
#   BOOTSTRAP=kafka-1:9093 COMMAND_CONFIG=admin.properties deploy/kafka/topics.sh ENDPOINT...
#
# Retention must exceed the longest erase_by any message may carry (DP-RET-01
# limits: 365 days) plus the longest outage: a consumer that falls behind
# retention loses data (Liaison reports it, but cannot bring it back).
set -euo pipefail
: "${BOOTSTRAP:?set BOOTSTRAP=host:port}"
PREFIX=${PREFIX:-liaison}
RF=${RF:-3}
MIN_ISR=${MIN_ISR:-2}   # 1 on a one-node development cluster
INGRESS_PARTITIONS=${INGRESS_PARTITIONS:-12}   # the policy stage scales with these
DELIVER_PARTITIONS=${DELIVER_PARTITIONS:-3}
RETENTION_MS=${RETENTION_MS:-$((400 * 24 * 3600 * 1000))}  # 400 days
# The broker's deduplication window (BrokerConfig::dedup_window, 7 days).
DEDUP_WINDOW_MS=${DEDUP_WINDOW_MS:-$((7 * 24 * 3600 * 1000))}
extra=()
[[ -n ${COMMAND_CONFIG:-} ]] && extra=(--command-config "$COMMAND_CONFIG")

create() {  # name partitions [config...]
  local name=$1 partitions=$2
  shift 2
  local configs=(--config min.insync.replicas=$MIN_ISR --config unclean.leader.election.enable=false)
  for c in "$@"; do configs+=(--config "$c"); done
  kafka-topics.sh --bootstrap-server "$BOOTSTRAP" "${extra[@]}" --create --if-not-exists \
    --topic "$name" --partitions "$partitions" --replication-factor "$RF" "${configs[@]}"
}

create "$PREFIX.ingress" "$INGRESS_PARTITIONS" "retention.ms=$RETENTION_MS"
# One audit chain per ingress partition: same partition count. Never delete.
create "$PREFIX.audit" "$INGRESS_PARTITIONS" retention.ms=-1 retention.bytes=-1
# Accepted ids and acknowledged items: a record per message, each key once,
# so compaction alone never shrinks them and every node start would read them
# all. Nodes forget both after the deduplication window, so the records go a
# day after it (segments of a day, so that they can).
for t in registry.ids registry.acks; do
  create "$PREFIX.$t" 3 cleanup.policy=compact,delete "retention.ms=$((DEDUP_WINDOW_MS + 86400000))" \
    segment.ms=86400000
done
for t in registry.sources registry.consents holds; do
  create "$PREFIX.$t" 3 cleanup.policy=compact
done
create "$PREFIX.index.deliver" 3 "retention.ms=$RETENTION_MS"
# The case-linkage index: compacted (a tombstone withdraws an entry), and
# deleted after the 180 days no entry may outlive (DP-RET-01).
create "$PREFIX.linkage.index" 3 cleanup.policy=compact,delete retention.ms=15552000000
# JIT evidence (docs/evidence.md): chunk records of 1 MiB + 16 bytes (above
# Kafka's default record limit) kept 28 days, the Regulation 2023/969 model's
# maximum; the compacted books of complete items, wrapped keys and grants go
# at the same time (a tombstone on a key is crypto-shredding before that).
create "$PREFIX.evidence" 6 retention.ms=2419200000 max.message.bytes=2097152
for t in evidence.items evidence.keys evidence.grants; do
  create "$PREFIX.$t" 3 cleanup.policy=compact,delete retention.ms=2419200000
done
for endpoint in "$@"; do
  create "$PREFIX.deliver.$endpoint" "$DELIVER_PARTITIONS" "retention.ms=$RETENTION_MS"
done
