#!/usr/bin/env bash
# Sanitizer builds of the tests, each in its own build folder. Called by
# `scripts/dev.sh sanitize [asan|tsan]` (which installs the packages).
#
#   asan  AddressSanitizer + UndefinedBehaviorSanitizer (build-asan): builds
#         the tests and runs them with ctest. LIAISON_SANITIZE_SUBSET=ci runs
#         the subset CI runs (tests/README.md), in build-asan-ci: the unit
#         tests of policy, certs and kafka plus integration_test.
#   tsan  ThreadSanitizer (build-tsan): builds and runs integration_test
#         (suppressions: tests/sanitizers/tsan.supp).
# Any sanitizer report fails the test that triggered it (-fno-sanitize-recover,
# halt_on_error), so the exit status is non-zero.
set -euo pipefail

cd "$(dirname "$0")/.."
readonly ROOT=$PWD
readonly JOBS=${LIAISON_JOBS:-$(nproc)}
readonly SUPP=$ROOT/tests/sanitizers

configure() {  # DIR SANITIZERS
  if [[ ! -f $1/build.ninja ]]; then
    cmake -S "$ROOT" -B "$1" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
      -DLIAISON_SANITIZE="$2" -DLIAISON_BENCH=OFF >/dev/null
  fi
}

mode=${1:-asan}
case $mode in
  asan)
    # The CI subset gets its own folder: ctest there lists only the subset's
    # tests (a full build-asan would also run e2e_test).
    subset=${LIAISON_SANITIZE_SUBSET:-}
    build=${LIAISON_ASAN_BUILD_DIR:-$ROOT/build-asan${subset:+-$subset}}
    echo "== ASan+UBSan build into $build"
    configure "$build" address,undefined
    ctest_args=()
    if [[ $subset == ci ]]; then
      cmake --build "$build" -j "$JOBS" --target policy_test certs_test kafka_test integration_test
      # ctest lists the unbuilt binaries (e2e_test) as <name>_NOT_BUILT. The
      # subset runs on the embedded mock only: the real-Kafka registrations
      # (label kafka-real) run in the Release step.
      ctest_args=(-E '_NOT_BUILT$' -LE kafka-real)
    elif [[ -z $subset ]]; then
      cmake --build "$build" -j "$JOBS"
    else
      echo "sanitize: unknown LIAISON_SANITIZE_SUBSET '$subset' (only 'ci')" >&2
      exit 2
    fi
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:detect_stack_use_after_return=1:strict_init_order=1:suppressions=$SUPP/asan.supp}
    export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$SUPP/lsan.supp:print_suppressions=0}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:suppressions=$SUPP/ubsan.supp}
    echo "== testing under ASan+UBSan"
    ctest --test-dir "$build" --output-on-failure -j 2 --timeout 900 "${ctest_args[@]}"
    ;;
  tsan)
    build=${LIAISON_TSAN_BUILD_DIR:-$ROOT/build-tsan}
    echo "== TSan build into $build"
    configure "$build" thread
    cmake --build "$build" -j "$JOBS" --target integration_test
    export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:suppressions=$SUPP/tsan.supp}
    echo "== integration_test under TSan"
    "$build/tests/integration_test" ${LIAISON_TSAN_FILTER:+--gtest_filter=$LIAISON_TSAN_FILTER}
    ;;
  *)
    echo "usage: $0 [asan|tsan]" >&2
    exit 2
    ;;
esac
