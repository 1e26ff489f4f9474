#!/usr/bin/env bash
# Runs one of Apache Kafka's Java entry points with the jars of
# deploy/kafka/fetch.sh (or $KAFKA_HOME/libs): Liaison fetches Kafka from
# Maven Central, which carries the jars but not Kafka's bin/ scripts; the
# wrappers in this folder stand in for the ones Liaison's scripts call.
#
#   kafka-run-class.sh CLASS [ARG...]
#
# KAFKA_LIBS skips the look-up (cluster.sh env sets it). KAFKA_TOOL_OPTS
# replaces the JVM options (default: a small heap and fast start-up, for
# short-lived tools). The first run with a given JDK and jar folder records
# the classes it loaded in a class-data-sharing archive (.cache/kafka/cds);
# later runs map it and start about a second faster (topics.sh and acls.sh
# start one JVM per topic or ACL).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
libs=${KAFKA_LIBS:-}
[[ -n $libs ]] || libs=$("$here/../fetch.sh")
[[ $# -ge 1 ]] || { echo "usage: $0 CLASS [ARG...]" >&2; exit 2; }
read -r -a opts <<<"${KAFKA_TOOL_OPTS:--Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1}"
# JVM log lines (class-sharing notes and the like): errors only, to stderr.
opts+=(-Xlog:disable -Xlog:all=error:stderr -Djava.awt.headless=true
  -Dlog4j2.configurationFile="$here/../log4j2-tools.properties" -cp "$libs/*")

cds_dir=${LIAISON_KAFKA_CACHE:-$root/.cache/kafka}/cds
key=$(printf '%s\n' "$(readlink -f "$(command -v java)")" "$libs" "${opts[*]}" | md5sum)
archive=$cds_dir/${key%% *}.jsa
if [[ -f $archive ]]; then
  exec java -XX:SharedArchiveFile="$archive" "${opts[@]}" "$@"
fi
if mkdir -p "$cds_dir" 2>/dev/null && [[ -w $cds_dir ]]; then
  tmp=$archive.$$.tmp
  rc=0
  java -XX:ArchiveClassesAtExit="$tmp" "${opts[@]}" "$@" || rc=$?
  [[ $rc -eq 0 && -s $tmp ]] && mv -f "$tmp" "$archive" || rm -f "$tmp"
  exit "$rc"
fi
exec java "${opts[@]}" "$@"
