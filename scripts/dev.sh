#!/usr/bin/env bash
# One entry point for newcomers and CI, on Debian 12 as root (or with sudo):
#
#   scripts/dev.sh run    install what is needed, build, start the broker on the
#                         embedded default (in-process mock Kafka, dev PKI in var/dev)
#   scripts/dev.sh test   install what is needed, build, run the whole test suite
#   scripts/dev.sh build  install what is needed and build
#   scripts/dev.sh bench  build and run the benchmark programs (prints figures)
#   scripts/dev.sh fuzz [SECONDS] [TARGET...]  build the libFuzzer targets (build-fuzz) and
#                         run each SECONDS (default 60); exit 1 on a crash (tests/README.md)
#   scripts/dev.sh sanitize [asan|tsan]  tests under ASan+UBSan (build-asan), or
#                         integration_test under TSan (build-tsan)
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
  libgtest-dev libgmock-dev libbenchmark-dev
)
# maven fetches Apache Kafka for the kafka-real tests (deploy/kafka); Java
# only if none is installed (Kafka 4.x needs 17+).
TEST_PACKAGES=(chromium maven)
command -v java >/dev/null || TEST_PACKAGES+=(default-jre-headless)

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
    install_packages "${PACKAGES[@]}"
    build
    shift
    exec "$BUILD/broker/liaison-broker" --state-dir "$ROOT/var/dev" "$@"
    ;;
  test)
    install_packages "${PACKAGES[@]}" "${TEST_PACKAGES[@]}"
    build
    echo "== testing"
    ctest --test-dir "$BUILD" --output-on-failure -j 2 --timeout 600
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
    install_packages "${PACKAGES[@]}" "${TEST_PACKAGES[@]}" libclang-rt-14-dev
    exec "$ROOT/scripts/sanitize.sh" "${@:2}"
    ;;
  *)
    sed -n '2,16p' "$0" >&2
    exit 2
    ;;
esac
