#!/usr/bin/env bash
# deploy/kafka/cluster.sh's cluster ids never start with '-': kafka-storage
# took "--cluster-id -..." for a missing value, and about one fresh cluster in
# 64 failed "formatting node 1" (seen as faults.cluster_start on a fresh
# clone). 1,000 ids: with the old generator about 16 of them start with '-'.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=/dev/null
source <(sed -n '/^new_cluster_id() {/,/^}/p' "$here/../../deploy/kafka/cluster.sh")
declare -F new_cluster_id >/dev/null || { echo "FAIL: no new_cluster_id in cluster.sh" >&2; exit 1; }
bad=0
for _ in $(seq 1000); do
  id=$(new_cluster_id)
  [[ $id =~ ^[A-Za-z0-9_-]{22}$ ]] || { echo "FAIL: not a Kafka Uuid: '$id'" >&2; exit 1; }
  [[ $id == -* ]] && bad=$((bad + 1))
done
((bad == 0)) || { echo "FAIL: $bad of 1000 cluster ids start with '-'" >&2; exit 1; }
echo "1000 cluster ids, none starting with '-'"
