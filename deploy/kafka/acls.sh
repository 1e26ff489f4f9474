#!/usr/bin/env bash
# Kafka ACLs that enforce, in production, what the code promises:
#  - only broker nodes read and write Liaison's topics; in particular only
#    the policy-stage principal writes liaison.deliver.* and liaison.audit
#    ("nothing reaches a delivery topic without a policy decision"; the
#    audit entries and the brokers' signed checkpoints of the chains);
#  - front-door nodes (--no-policy-stage) write liaison.ingress and the
#    registries, read delivery topics, and cannot write deliveries;
#  - only policy nodes may use transactional ids (PREFIX.*), which the
#    policy stage's exactly-once writes need;
#  - only the auditor reads liaison.audit (LED art 25(3)); nobody else reads
#    anything (operators use the admin API: metadata only).
#
#   BOOTSTRAP=kafka-1:9093 COMMAND_CONFIG=admin.properties deploy/kafka/acls.sh
set -euo pipefail
: "${BOOTSTRAP:?set BOOTSTRAP=host:port}"
PREFIX=${PREFIX:-liaison}
POLICY=${POLICY_PRINCIPAL:-User:CN=liaison-policy}
FRONT=${FRONT_PRINCIPAL:-User:CN=liaison-front}
AUDITOR=${AUDITOR_PRINCIPAL:-User:CN=liaison-auditor}
extra=()
[[ -n ${COMMAND_CONFIG:-} ]] && extra=(--command-config "$COMMAND_CONFIG")
# One kafka-acls.sh run per principal and pattern type where the operations
# are the same (each run is a JVM start: 9 runs instead of 24).
acl() { kafka-acls.sh --bootstrap-server "$BOOTSTRAP" "${extra[@]}" --add "$@"; }

# Policy nodes: everything (they also run the front door and delivery).
acl --allow-principal "$POLICY" --operation All --topic "$PREFIX." --group "$PREFIX" \
  --resource-pattern-type prefixed
# Exactly once (real Kafka): each policy node writes in Kafka transactions
# under transactional.id PREFIX.policy.<node id> (--transactional-id), and
# commits its liaison-policy offsets inside them.
acl --allow-principal "$POLICY" --operation Write --operation Describe \
  --transactional-id "$PREFIX." --resource-pattern-type prefixed
acl --allow-principal "$POLICY" --allow-principal "$FRONT" --operation IdempotentWrite --cluster

# Front-door-only nodes.
# Evidence: front doors store uploads (chunks, wrapped keys, complete items)
# and serve downloads; only policy nodes write grants.
topic_args() { for t in "$@"; do printf -- '--topic\n%s\n' "$PREFIX.$t"; done; }
mapfile -t writes < <(topic_args ingress registry.ids registry.acks linkage.index evidence \
  evidence.items evidence.keys)
acl --allow-principal "$FRONT" --operation Write --operation Describe "${writes[@]}"
mapfile -t reads < <(topic_args registry.ids registry.acks registry.sources registry.consents \
  holds index.deliver linkage.index evidence evidence.items evidence.keys evidence.grants)
acl --allow-principal "$FRONT" --operation Read --operation Describe "${reads[@]}"
acl --allow-principal "$FRONT" --operation Read --operation Describe \
  --topic "$PREFIX.deliver." --resource-pattern-type prefixed
# Delivery groups: liaison-deliver (one delivery consumer per node) and
# liaison-deliver.<endpoint> (--delivery-consumer=per-stream).
acl --allow-principal "$FRONT" --operation Read --group "$PREFIX-deliver" --resource-pattern-type prefixed

# The auditor: the audit trail, read only.
acl --allow-principal "$AUDITOR" --operation Read --operation Describe --topic "$PREFIX.audit"
acl --allow-principal "$AUDITOR" --operation Read --group "liaison-range-" --resource-pattern-type prefixed
