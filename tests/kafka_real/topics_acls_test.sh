#!/usr/bin/env bash
# deploy/kafka/topics.sh and acls.sh are idempotent against the real 3-node
# cluster: the fixture applied them once; a second run succeeds and changes
# nothing. Also checks what they made: replication 3, min.insync.replicas 2,
# and per-principal ACLs as Kafka lists them.
#   topics_acls_test.sh STATE_DIR
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
deploy=$here/../../deploy/kafka
state=$1
fail() { echo "FAIL: $*" >&2; exit 1; }
eval "$("$deploy/cluster.sh" env --state-dir "$state")"
[[ $RF == 3 && $MIN_ISR == 2 ]] || fail "the fixture cluster is not the 3-node one (RF=$RF)"

acls() { kafka-acls.sh --bootstrap-server "$BOOTSTRAP" --command-config "$COMMAND_CONFIG" --list; }
# Blank lines between blocks vary from one listing to the next.
sorted() { grep -v "^[[:space:]]*$" | sort; }
# topics.sh's own topics only: the `real.` tests create topics under their own
# prefixes (liaison.t<pid>-<n>., liaison.e2e.) on the same cluster meanwhile.
topics() {
  kafka-topics.sh --bootstrap-server "$BOOTSTRAP" --command-config "$COMMAND_CONFIG" --list |
    grep -E '^liaison\.(ingress|audit|holds|index\.deliver|registry\.[a-z]+|evidence(\.[a-z]+)?|deliver\.[A-Z]+-[A-Z]+)$' || true
}
acls_listed=$(acls)
acls_before=$(sorted <<<"$acls_listed")
topics_before=$(topics | sorted)

"$deploy/topics.sh" DE-BKA NL-NP >"$state/topics-again.log" 2>&1 ||
  { cat "$state/topics-again.log"; fail "second run of topics.sh"; }
"$deploy/acls.sh" >"$state/acls-again.log" 2>&1 ||
  { cat "$state/acls-again.log"; fail "second run of acls.sh"; }

acls_after=$(acls | sorted)
[[ $acls_after == "$acls_before" ]] ||
  fail "the second acls.sh run changed the ACLs: $(diff <(echo "$acls_before") <(echo "$acls_after"))"
[[ $(topics | sorted) == "$topics_before" ]] || fail "the second topics.sh run changed the topics"

for t in ingress audit registry.ids registry.acks registry.sources registry.consents holds \
  index.deliver evidence evidence.items evidence.keys evidence.grants deliver.DE-BKA deliver.NL-NP; do
  grep -qx "liaison.$t" <<<"$topics_before" || fail "topic liaison.$t missing"
done
describe() {
  kafka-topics.sh --bootstrap-server "$BOOTSTRAP" --command-config "$COMMAND_CONFIG" --describe --topic "$1"
}
desc=$(describe liaison.deliver.DE-BKA)
grep -q "ReplicationFactor: 3" <<<"$desc" || fail "liaison.deliver.DE-BKA is not replicated 3 times: $desc"
grep -q "min.insync.replicas=2" <<<"$desc" || fail "liaison.deliver.DE-BKA lacks min.insync.replicas=2: $desc"
# Every partition has its 3 replicas in sync. A follower that fell behind for
# replica.lag.time.max.ms (10 s) leaves the ISR until it catches up: the other
# kafka-real tests load the same 2 cores meanwhile, so a short shrink is normal
# and is waited out (60 s); a replica that never comes back fails the test.
for ((i = 0; ; i++)); do
  grep "Partition:" <<<"$desc" | grep -qv "Isr: [0-9],[0-9],[0-9]" || break
  ((i < 30)) || fail "liaison.deliver.DE-BKA has a partition with fewer than 3 in-sync replicas for 60 s: $desc"
  sleep 2
  desc=$(describe liaison.deliver.DE-BKA)
done
# Evidence chunks: 28 days (docs/evidence.md), records of 1 MiB + 16 bytes.
desc=$(describe liaison.evidence)
grep -q "retention.ms=2419200000" <<<"$desc" || fail "liaison.evidence is not kept 28 days: $desc"
grep -q "max.message.bytes=2097152" <<<"$desc" || fail "liaison.evidence refuses 1 MiB chunks: $desc"

# Accepted ids and acknowledged items go a day after the 7-day deduplication
# window, in segments of a day (a node's start reads them all).
for t in registry.ids registry.acks; do
  desc=$(describe liaison.$t)
  for c in cleanup.policy=compact,delete retention.ms=691200000 segment.ms=86400000; do
    grep -q "$c" <<<"$desc" || fail "liaison.$t lacks $c: $desc"
  done
done

# Who may write deliveries: the policy stage only (super users aside).
block() { sed -n "/resourceType=$1, name=$2, patternType=PREFIXED/,/^\$/p" <<<"$acls_listed"; }
deliver=$(block TOPIC 'liaison\.deliver\.')
grep -q "principal=User:CN=liaison-policy, host=\*, operation=ALL, permissionType=ALLOW" <<<"$(block TOPIC 'liaison\.')" ||
  fail "no ALL grant on prefix liaison. for the policy stage"
grep -q "principal=User:CN=liaison-front, host=\*, operation=READ" <<<"$deliver" ||
  fail "the front door may not read delivery topics"
if grep -qE "liaison-front.*operation=(WRITE|ALL)" <<<"$deliver"; then
  fail "the front door may write delivery topics"
fi
echo "topics.sh and acls.sh: second run succeeded and changed nothing"
