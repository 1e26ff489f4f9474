#!/usr/bin/env bash
# docs/production.md, steps 1, 2, 4 and 5, against the fixture's 3-node
# cluster (mutual TLS, ACLs of acls.sh): install with `cmake --install` into a
# temporary prefix, certificates issued by the cluster's CA (standing in for
# the network CA), the installed liaison-broker started with the production
# flags as the liaison-policy principal, `liaison admin health` from the
# installed command line; then a start without a PKI folder must fail and
# mint nothing.
#   production_test.sh STATE_DIR BUILD_DIR WORK_DIR
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
state=$1 build=$2 work=$3
fail() { echo "FAIL: $*" >&2; exit 1; }
eval "$("$root/deploy/kafka/cluster.sh" env --state-dir "$state")"
pki=$state/pki
[[ -f $pki/ca.pem && -f $pki/kafka/liaison-policy.pem ]] || fail "no cluster PKI in $pki"
rm -rf "$work"
mkdir -p "$work"

# 1. Install.
cmake --install "$build" --prefix "$work/prefix" >"$work/install.log" ||
  { cat "$work/install.log"; fail "cmake --install"; }
broker=$work/prefix/bin/liaison-broker
cli=$work/prefix/bin/liaison
for f in bin/liaison-broker bin/liaison share/liaison/kafka/topics.sh share/liaison/kafka/acls.sh \
  share/liaison/systemd/liaison-broker.service share/liaison/prometheus/prometheus.yml \
  share/liaison/grafana/liaison-dashboard.json; do
  [[ -e $work/prefix/$f ]] || fail "cmake --install did not install $f"
done
[[ -x $broker && -x $cli && -x $work/prefix/share/liaison/kafka/acls.sh ]] ||
  fail "installed programs are not executable"

# 2. Certificates from the network CA: the node, its Kafka principal, an operator.
mint=$root/certs/scripts/mint-dev-pki.sh
etc=$work/etc
mkdir -p "$etc/pki/broker" "$etc/kafka" "$work/ops"
cp "$pki/ca.pem" "$pki/crl.pem" "$etc/pki/"
"$mint" issue "$pki" broker "liaison-broker-prod$$" "$etc/pki/broker/tls" \
  --san DNS:localhost,IP:127.0.0.1 >/dev/null
"$mint" issue "$pki" operator "ops-prod$$" "$work/ops/operators/ops-prod$$/tls" >/dev/null
cp "$pki/ca.pem" "$work/ops/ca.pem"
cp "$pki/ca.pem" "$etc/kafka/ca.pem"
cp "$pki/kafka/liaison-policy.pem" "$pki/kafka/liaison-policy.key" "$etc/kafka/"
openssl verify -CAfile "$etc/pki/ca.pem" -crl_check -CRLfile "$etc/pki/crl.pem" \
  "$etc/pki/broker/tls.pem" >/dev/null || fail "the broker certificate does not verify"

# 4. Configuration files.
head -c 32 /dev/urandom >"$etc/pseudonym.key"
cp "$root/deploy/registry/dev.textproto" "$etc/registry.textproto"

# 5. The unit's command (deploy/systemd/liaison-broker.service), with ports and
# a topic prefix of its own (other kafka-real tests share the cluster).
prefix=liaison.prod$$
run_broker() {  # STATE_DIR PKI_DIR; exec: in the background, $! is the broker itself
  exec "$broker" --state-dir "$1" --pki "$2" \
    --pseudonym-key "$etc/pseudonym.key" --registry "$etc/registry.textproto" \
    --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --http-listen 127.0.0.1:0 \
    --kafka-bootstrap "$BOOTSTRAP" \
    --kafka-property security.protocol=ssl \
    --kafka-property "ssl.ca.location=$etc/kafka/ca.pem" \
    --kafka-property "ssl.certificate.location=$etc/kafka/liaison-policy.pem" \
    --kafka-property "ssl.key.location=$etc/kafka/liaison-policy.key" \
    --topic-prefix "$prefix" --no-mint-dev-pki
}
run_broker "$work/state" "$etc/pki" >"$work/broker.log" 2>&1 &
pid=$!
# Whatever happens, the broker does not outlive the test.
trap 'kill -KILL "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true' EXIT
for ((i = 0; i < 600; ++i)); do
  [[ -s $work/state/broker.json ]] && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/broker.log"; fail "the installed broker exited"; }
  sleep 0.2
done
[[ -s $work/state/broker.json ]] || { cat "$work/broker.log"; fail "the broker did not start in 120 s"; }

# The node probes Kafka every few seconds, and the policy stage owns
# partitions once its consumer group has settled.
for ((i = 0; i < 60; ++i)); do
  health=$("$cli" admin health --as "ops-prod$$" --pki "$work/ops" --state-dir "$work/state" 2>&1) ||
    { echo "$health"; cat "$work/broker.log"; fail "liaison admin health"; }
  grep -Eq "^policy stage +ingress partitions [0-9]" <<<"$health" &&
    grep -Eq "^kafka +reachable\$" <<<"$health" && break
  sleep 1
done
grep -Eq "^node +liaison-broker-prod$$\$" <<<"$health" || fail "health names another node: $health"
grep -Eq "^kafka +reachable\$" <<<"$health" || fail "Kafka not reachable: $health"
grep -Eq "^policy stage +ingress partitions [0-9]" <<<"$health" ||
  fail "the node owns no ingress partition: $health"
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
[[ $status == 0 ]] || { tail -5 "$work/broker.log"; fail "the broker did not stop cleanly on SIGTERM (exit $status)"; }
trap - EXIT

# Without the PKI folder: an error naming it, and no development PKI minted.
if (run_broker "$work/state2" "$work/no-pki") >"$work/no-pki.log" 2>&1; then
  fail "the broker started without a PKI folder"
fi
grep -q "never mints a development PKI" "$work/no-pki.log" || { cat "$work/no-pki.log"; fail "no clear error"; }
[[ ! -e $work/no-pki/ca.pem ]] || fail "a development PKI was minted into $work/no-pki"
echo "production procedure: installed, started on the real cluster as liaison-policy, healthy; no PKI minted"
