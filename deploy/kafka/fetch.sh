#!/usr/bin/env bash
# Makes Apache Kafka's jars available and prints the folder that holds them
# (the only line on stdout; messages go to stderr).
#
#   deploy/kafka/fetch.sh            # fetch once, then print the cached folder
#   KAFKA_HOME=/opt/kafka deploy/kafka/fetch.sh   # use an existing install
#
# Without KAFKA_HOME: copies org.apache.kafka:kafka_2.13 and kafka-tools at the
# version pinned in deploy/kafka/pom.xml, with their dependencies, from Maven
# Central into $LIAISON_KAFKA_CACHE/<version>/libs (default .cache/kafka, not
# in git). A folder is used only once it is complete (marker file written
# last), so an interrupted fetch is redone; nothing is downloaded when it is.
# Concurrent calls wait for each other (flock).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
readonly PROG=kafka-fetch

die() {
  echo "$PROG: error: $*" >&2
  exit 1
}

version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/pom.xml")
[[ -n $version ]] || die "no <kafka.version> in $here/pom.xml"

if [[ -n ${KAFKA_HOME:-} ]]; then
  [[ -d $KAFKA_HOME/libs ]] || die "KAFKA_HOME=$KAFKA_HOME has no libs/ folder (expected an Apache Kafka 4.x install, the unpacked kafka_2.13-<version>.tgz)"
  shopt -s nullglob
  jars=("$KAFKA_HOME"/libs/kafka_2.13-4.*.jar)
  shopt -u nullglob
  [[ ${#jars[@]} -gt 0 ]] || die "KAFKA_HOME=$KAFKA_HOME/libs holds no kafka_2.13-4.*.jar: Liaison needs Apache Kafka 4.x"
  found=${jars[0]##*/kafka_2.13-}
  found=${found%.jar}
  [[ $found == "$version" ]] || echo "$PROG: note: KAFKA_HOME holds Kafka $found; Liaison is tested with $version" >&2
  echo "$KAFKA_HOME/libs"
  exit 0
fi

cache=${LIAISON_KAFKA_CACHE:-$root/.cache/kafka}
dest=$cache/$version
if [[ -f $dest/complete ]]; then
  echo "$dest/libs"
  exit 0
fi

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if [[ -f $dest/complete ]]; then  # another fetch finished while we waited
  echo "$dest/libs"
  exit 0
fi

explain() {
  cat >&2 <<MSG
$PROG: error: could not fetch Apache Kafka $version from Maven Central ($1).
  What is needed: org.apache.kafka:kafka_2.13:$version and
  org.apache.kafka:kafka-tools:$version with their runtime dependencies
  (see $here/pom.xml), copied into $dest/libs.
  To fetch by hand:  mvn -f $here/pom.xml dependency:copy-dependencies \\
                       -DoutputDirectory=$dest/libs && touch $dest/complete
  To use an existing install instead (Kafka 4.x, e.g. the unpacked
  kafka_2.13-$version.tgz from https://kafka.apache.org/downloads):
    export KAFKA_HOME=/path/to/kafka_2.13-$version
MSG
  exit 1
}

command -v mvn >/dev/null || explain "the mvn command is not installed; on Debian: apt-get install maven"
echo "$PROG: fetching Apache Kafka $version with Maven into $dest/libs" >&2
rm -rf "$dest"
mkdir -p "$dest"
log=$dest/fetch.log
start=$SECONDS
if ! mvn -B -f "$here/pom.xml" dependency:copy-dependencies -DincludeScope=runtime \
  -DoutputDirectory="$dest/libs.tmp" >"$log" 2>&1; then
  grep -E '^\[ERROR\]' "$log" | head -5 >&2 || true
  explain "mvn failed; its output is in $log"
fi
[[ -n $(compgen -G "$dest/libs.tmp/kafka_2.13-$version.jar") ]] || explain "mvn ran but kafka_2.13-$version.jar is missing"
mv "$dest/libs.tmp" "$dest/libs"
touch "$dest/complete"
echo "$PROG: fetched $(ls "$dest/libs" | wc -l) jars in $((SECONDS - start)) s" >&2
echo "$dest/libs"
