#!/usr/bin/env bash
# One entry point for newcomers and CI, on Debian 12 as root (or with sudo):
#
#   scripts/dev.sh run    install what is needed, build, start a local one-node
#                         Apache Kafka (var/dev/kafka, data kept) and the broker
#                         on it (dev PKI in var/dev); Ctrl-C stops both.
#                         `run --embedded` (or LIAISON_KAFKA=embedded): the
#                         in-process mock Kafka instead (in memory, no Java)
#   scripts/dev.sh test   install what is needed, build, run the whole test suite
#   scripts/dev.sh build  install what is needed and build
#   scripts/dev.sh bench  build and run the benchmark programs (prints figures)
#   scripts/dev.sh fuzz [SECONDS] [TARGET...]  build the libFuzzer targets (build-fuzz) and
#                         run each SECONDS (default 60); exit 1 on a crash (tests/README.md)
#   scripts/dev.sh sanitize [asan|tsan]  tests under ASan+UBSan (build-asan), or
#                         the broker's threaded unit tests under TSan (build-tsan);
#                         `tsan --full` adds the integration tests, on gRPC built
#                         with TSan (built once, 5-35 min; tests/README.md)
#
# Idempotent: packages already present are not reinstalled, the build is
# incremental (ccache), and the dev PKI is minted only once.
set -euo pipefail

cd "$(dirname "$0")/.."
readonly ROOT=$PWD
# ccache keys on the compiler command line, which names absolute paths: with
# the repository root as base directory those become relative, so a fresh
# clone in another folder (CI) reuses what an earlier build compiled.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$ROOT}
readonly BUILD=${LIAISON_BUILD_DIR:-$ROOT/build}

PACKAGES=(
  cmake ninja-build clang g++ ccache pkg-config openssl ca-certificates
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libabsl-dev
  librdkafka-dev libssl-dev nlohmann-json3-dev libcli11-dev libcpp-httplib-dev
  libgtest-dev libgmock-dev libbenchmark-dev libphonenumber-dev libicu-dev
)
# maven fetches Apache Kafka for the kafka-real tests (deploy/kafka); Java
# only if none is installed (Kafka 4.x needs 17+).
KAFKA_PACKAGES=(maven)
command -v java >/dev/null || KAFKA_PACKAGES+=(default-jre-headless)
# iproute2 and socat: faults.KafkaNodeCutOffTheNetwork (a network namespace,
# a veth pair, TCP forwarders across it).
TEST_PACKAGES=(chromium clang-format-14 iproute2 socat "${KAFKA_PACKAGES[@]}")
# The sanitizer runtimes for clang 14; dpkg-dev (dpkg-source) and xz-utils
# unpack Debian's abseil source package for the TSan build of its locks.
SANITIZE_PACKAGES=(libclang-rt-14-dev dpkg-dev xz-utils)

install_packages() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  echo "== installing: ${missing[*]}"
  local sudo=""
  [[ $(id -u) -eq 0 ]] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

build() {
  echo "== building into $BUILD"
  if [[ ! -f $BUILD/build.ninja ]]; then
    cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ >/dev/null
  fi
  cmake --build "$BUILD" -j "$(nproc)"
}

cmd=${1:-}
case $cmd in
  run)
    shift
    kafka=${LIAISON_KAFKA:-real}
    args=()
    for a in "$@"; do
      if [[ $a == --embedded ]]; then kafka=embedded; else args+=("$a"); fi
    done
    [[ $kafka == real || $kafka == embedded ]] ||
      { echo "dev.sh: LIAISON_KAFKA must be 'real' or 'embedded', not '$kafka'" >&2; exit 2; }
    # The broker reads its own copy of the development registry, so that an
    # operator's edits (a JIT extended, an endpoint added) change neither the
    # repository nor the tests. Remove var/dev/registry.textproto to start
    # from the scenario again; --registry FILE uses another file.
    mkdir -p "$ROOT/var/dev"
    if [[ " ${args[*]} " != *" --registry "* && " ${args[*]} " != *" --registry="* ]]; then
      [[ -f $ROOT/var/dev/registry.textproto ]] ||
        cp deploy/registry/dev.textproto "$ROOT/var/dev/registry.textproto"
      args+=(--registry "$ROOT/var/dev/registry.textproto")
    fi
    if [[ $kafka == embedded ]]; then
      install_packages "${PACKAGES[@]}"
      build
      exec "$BUILD/broker/liaison-broker" --state-dir "$ROOT/var/dev" "${args[@]}"
    fi
    install_packages "${PACKAGES[@]}" "${KAFKA_PACKAGES[@]}"
    build
    # This Kafka is the project's own: the dev PKI and the pseudonym key are
    # made here, once (the broker never mints them next to a real Kafka).
    dev=$ROOT/var/dev
    [[ -f $dev/pki/ca.pem ]] || certs/scripts/mint-dev-pki.sh init "$dev/pki" >/dev/null
    [[ -f $dev/pseudonym.key ]] || (umask 077 && head -c 32 /dev/urandom >"$dev/pseudonym.key")
    # A Kafka already running there (another `run`, or started by hand) is
    # used and left running; only one started here is stopped here.
    own_kafka=1
    if deploy/kafka/cluster.sh status --state-dir "$dev/kafka" >/dev/null 2>&1; then
      own_kafka=0
      echo "== Kafka already runs in $dev/kafka: using it (it is left running)"
    else
      echo "== starting Kafka (one node, state in $dev/kafka)"
    fi
    # --stop-with: should this script be killed outright, Kafka stops too.
    deploy/kafka/cluster.sh start --nodes 1 --state-dir "$dev/kafka" --pki "$dev/pki" \
      --stop-with $$ >/dev/null
    # The broker is principal liaison-policy: it needs deploy/kafka/acls.sh's
    # grants (applied once; the broker creates its topics itself).
    if [[ ! -f $dev/kafka/acls.applied ]]; then
      echo "== applying deploy/kafka/acls.sh (first start only)"
      (eval "$(deploy/kafka/cluster.sh env --state-dir "$dev/kafka")" &&
        deploy/kafka/acls.sh >"$dev/kafka/acls.log" 2>&1) ||
        { cat "$dev/kafka/acls.log" >&2; deploy/kafka/cluster.sh stop --state-dir "$dev/kafka"; exit 1; }
      touch "$dev/kafka/acls.applied"
    fi
    # Ctrl-C reaches the broker (same process group); once it has stopped,
    # so does Kafka. Its data stay in var/dev/kafka for the next run.
    trap ':' INT
    rc=0
    "$BUILD/broker/liaison-broker" --state-dir "$dev" --kafka-state-dir "$dev/kafka" \
      "${args[@]}" || rc=$?
    if ((own_kafka)); then
      echo "== stopping Kafka (data kept in $dev/kafka)"
      deploy/kafka/cluster.sh stop --state-dir "$dev/kafka"
    fi
    exit "$rc"
    ;;
  test)
    install_packages "${PACKAGES[@]}" "${TEST_PACKAGES[@]}"
    build
    echo "== testing"
    # Four tests at a time, of which at most two on real Kafka (resource
    # `kafka`, tests/ctest-resources.json): those keep 2 cores busy, while the
    # tests on the embedded mock mostly wait (tests/README.md, "What CI runs").
    ctest --test-dir "$BUILD" --output-on-failure -j 4 --timeout 600 \
      --resource-spec-file "$ROOT/tests/ctest-resources.json"
    ;;
  build)
    install_packages "${PACKAGES[@]}"
    build
    ;;
  bench)
    install_packages "${PACKAGES[@]}"
    build
    "$BUILD/tests/bench/exchange_bench" "${@:2}"
    ;;
  fuzz)
    # libclang-rt-14-dev: libFuzzer and the sanitizer runtimes for clang 14.
    install_packages "${PACKAGES[@]}" libclang-rt-14-dev
    exec "$ROOT/scripts/fuzz.sh" "${@:2}"
    ;;
  sanitize)
    install_packages "${PACKAGES[@]}" "${TEST_PACKAGES[@]}" "${SANITIZE_PACKAGES[@]}"
    exec "$ROOT/scripts/sanitize.sh" "${@:2}"
    ;;
  *)
    sed -n '2,20p' "$0" >&2
    exit 2
    ;;
esac
