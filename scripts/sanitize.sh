#!/usr/bin/env bash
# Sanitizer builds of the tests, each in its own build folder. Called by
# `scripts/dev.sh sanitize [asan|tsan]` (which installs the packages).
#
#   asan  AddressSanitizer + UndefinedBehaviorSanitizer (build-asan): builds
#         the tests and runs them with ctest. LIAISON_SANITIZE_SUBSET=ci runs
#         the subset CI runs (tests/README.md), in build-asan-ci: the unit
#         tests of policy, certs and kafka, integration_test and the history
#         tests; that folder is configured with the fuzz targets too, for CI's
#         fuzz step (LIAISON_FUZZ_BUILD_DIR=build-asan-ci scripts/dev.sh fuzz).
#   tsan  ThreadSanitizer (build-tsan): the broker's multi-threaded unit
#         tests, against Abseil's locks built with TSan (once, cached in
#         .cache/tsan/; tsan_absl below), after a self-check
#         (tests/sanitizers/tsan_selfcheck.cc); suppressions in
#         tests/sanitizers/tsan.supp. Exit status non-zero on any report.
#         `tsan --full` also builds gRPC with TSan (once, cached in
#         .cache/tsan/; tsan_grpc below) and adds integration_test and
#         evidence_test, which run whole brokers behind real gRPC.
# Any sanitizer report fails the test that triggered it (-fno-sanitize-recover,
# halt_on_error), so the exit status is non-zero.
set -euo pipefail

cd "$(dirname "$0")/.."
readonly ROOT=$PWD
readonly JOBS=${LIAISON_JOBS:-$(nproc)}
readonly SUPP=$ROOT/tests/sanitizers

# Sanitizer builds compile with -O1 and line tables only: a report's stack
# names file and line all the same, and the build is much quicker than with
# RelWithDebInfo's -O2 -g (full debug information for gRPC's and protobuf's
# templates). LIAISON_SANITIZE_FLAGS replaces them.
readonly SANITIZE_FLAGS=${LIAISON_SANITIZE_FLAGS:--O1 -gline-tables-only -DNDEBUG}

configure() {  # DIR SANITIZERS [CMAKE ARGS...]
  if [[ ! -f $1/build.ninja ]]; then
    cmake -S "$ROOT" -B "$1" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_C_FLAGS_RELWITHDEBINFO="$SANITIZE_FLAGS" \
      -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="$SANITIZE_FLAGS" \
      -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
      -DLIAISON_SANITIZE="$2" -DLIAISON_BENCH=OFF "${@:3}" >/dev/null
  fi
}

# Debian 12's source package PKG of VERSION, unpacked (Debian's patches
# applied) into DIR/NAME, through a private apt list under .cache/tsan/apt/
# so that the machine's apt setup is left as it is.
debian_source() {  # PKG VERSION DIR NAME
  local cache=$ROOT/.cache/tsan
  rm -rf "$cache/apt" "$3"
  mkdir -p "$cache/apt/lists/partial" "$3"
  local suite
  for suite in bookworm bookworm-updates; do
    echo "deb-src http://deb.debian.org/debian $suite main"
  done >"$cache/apt/sources.list"
  echo "deb-src http://deb.debian.org/debian-security bookworm-security main" >>"$cache/apt/sources.list"
  local apt=(apt-get -qq -o Dir::Etc::SourceList="$cache/apt/sources.list"
    -o Dir::Etc::SourceParts=/dev/null -o Dir::State::Lists="$cache/apt/lists"
    -o Dir::Cache="$cache/apt/cache" -o APT::Sandbox::User=root)
  "${apt[@]}" update >&2
  # apt checks the files against the signed Sources index; dpkg-source's
  # warning that it cannot check the .dsc's own signature (no Debian
  # keyring installed) is expected.
  (cd "$3" && "${apt[@]}" source --download-only "$1=$2" >&2 &&
    dpkg-source -x ./*.dsc "$4" >/dev/null 2>&1) ||
    { echo "sanitize: could not fetch Debian's source package $1 $2" >&2; exit 1; }
  rm -rf "$cache/apt"
}

# Abseil's locks built with -fsanitize=thread, for the TSan run only (see
# tests/README.md "Sanitizer builds"). Debian's libabsl is not instrumented:
# absl::Mutex (ours, and gRPC's, whose gpr_mu and grpc_core::Mutex are
# absl::Mutex) then locks with atomics TSan cannot see, and every access it
# guards looks racy. This builds the very source package Debian built
# libabsl20220623 from (its patches applied: same options.h, inline namespace
# and SONAMEs) with clang and -fsanitize=thread, once, into .cache/tsan/
# (git-ignored), and keeps only the libraries of absl::Mutex, CondVar,
# Notification and SpinLock, and the random pool whose inline SpinLock gRPC
# uses for every call (TSAN_ABSL_LIBS): instrumented, they tell TSan about
# every lock and unlock through Abseil's __tsan_mutex_* annotations. The rest of Abseil (Status, Cord, containers) stays Debian's:
# instrumenting it only showed gRPC handing its own absl::Status objects
# between threads through its uninstrumented queues (dozens of reports per
# test, none in our code). LD_LIBRARY_PATH puts these few libraries in front
# of Debian's for our binaries and for gRPC alike. The source comes from
# Debian's archive through a private apt list (.cache/tsan/apt/), so the
# machine's apt setup is left as it is.
# time, cordz_handle and cordz_info too: each inlines SpinLock::Lock() and
# calls the instrumented SpinLock::SlowLock(), whose __tsan_mutex_* calls
# must pair with the inline part's; with Debian's libabsl_time, a contended
# absl::Now() stopped the TSan runtime ("CHECK failed: ... ignore_sync",
# seen in integration_test). And time_zone: cctz allocates its zone map's
# mutex in a function-local static on first use; with Debian's build the
# other threads pass the static's guard through an inline atomic load TSan
# cannot see, so their pthread_mutex_lock on it looked unordered with the
# allocation (gRPC formatting a status's time payload, seen in evidence_test).
readonly TSAN_ABSL_LIBS=(synchronization base spinlock_wait malloc_internal graphcycles_internal
  random_internal_pool_urbg time time_zone cordz_handle cordz_info)
tsan_absl() {  # prints the folder of the instrumented libraries
  local version
  version=$(dpkg-query -W -f='${Version}' libabsl20220623)
  local cache=$ROOT/.cache/tsan
  local prefix=$cache/absl-$version
  # Rebuilt when the version or the list of libraries changes.
  if [[ ! -f $prefix/done || $(head -1 "$prefix/done") != "${TSAN_ABSL_LIBS[*]}" ]]; then
    echo "== building Abseil $version's locks with -fsanitize=thread into $prefix (once)" >&2
    local start=$SECONDS
    rm -rf "$cache/src" "$prefix"
    mkdir -p "$prefix/lib"
    debian_source abseil "$version" "$cache/src" absl
    # Debian's own configuration (debian/rules: C++17, shared libraries);
    # clang, -O1 and -fsanitize=thread on top.
    cmake -S "$cache/src/absl" -B "$cache/src/build" -G Ninja -DCMAKE_BUILD_TYPE=None \
      -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_CXX_STANDARD=17 \
      -DCMAKE_CXX_FLAGS="-O1 -g1 -fsanitize=thread" \
      -DBUILD_SHARED_LIBS=ON -DBUILD_TESTING=OFF >"$cache/configure.log" 2>&1 ||
      { cat "$cache/configure.log" >&2; exit 1; }
    cmake --build "$cache/src/build" -j "$JOBS" --target "${TSAN_ABSL_LIBS[@]}" >&2
    local lib
    for lib in "${TSAN_ABSL_LIBS[@]}"; do
      find "$cache/src/build/absl" -name "libabsl_$lib.so.*" -exec cp -a {} "$prefix/lib/" \;
      [[ -f $prefix/lib/libabsl_$lib.so.20220623 ]] ||
        { echo "sanitize: no libabsl_$lib.so.20220623 built" >&2; exit 1; }
    done
    rm -rf "$cache/src"
    printf '%s\n%s s\n' "${TSAN_ABSL_LIBS[*]}" "$((SECONDS - start))" >"$prefix/done"
    echo "== Abseil's locks built in $((SECONDS - start)) s" >&2
  fi
  echo "$prefix/lib"
}

# gRPC built with -fsanitize=thread, for `sanitize tsan --full` (see
# tests/README.md "Sanitizer builds"). Debian's libgrpc is not instrumented:
# TSan cannot see gRPC hand a call, its slices, closures and its reactor
# callbacks from one of its threads to the next (lock-free queues, atomics,
# epoll), so every integration test showed reports with gRPC's frames that
# could not be told from real races in our reactors. This builds the source
# package Debian built libgrpc29 and libgrpc++1.51 from (same version, its
# patches applied, so the same SONAMEs and exported symbols) with Debian's
# own CMake options (debian/rules: the system's Abseil, c-ares, protobuf,
# re2, OpenSSL and zlib; shared libraries), with clang, -O1 and
# -fsanitize=thread on top, under `nice` (the machine is shared). Only the
# libraries our binaries load are built and kept (TSAN_GRPC_LIBS); the
# compile goes through ccache when it is installed, so a fresh clone on a
# machine that built it before is fast. Cached in .cache/tsan/grpc-VERSION/,
# rebuilt when the version or the list changes. LD_LIBRARY_PATH puts them in
# front of Debian's, together with the Abseil above: our binaries link
# gRPC by SONAME, and the headers they were compiled with are the same
# version's.
# grpc++_reflection stays Debian's: its generated code needs grpc_cpp_plugin,
# which needs libprotoc's headers (libprotoc-dev, not installed); it serves
# only the reflection service, and calls into the instrumented libgrpc++.
readonly TSAN_GRPC_LIBS=(grpc grpc++ gpr upb address_sorting)
tsan_grpc() {  # prints the folder of the instrumented libraries
  local version source_version
  version=$(dpkg-query -W -f='${Version}' libgrpc29)
  # A binary rebuild (1.51.1-3+b1) has the source package's version.
  source_version=$(dpkg-query -W -f='${source:Version}' libgrpc29)
  local cache=$ROOT/.cache/tsan
  local prefix=$cache/grpc-$version work=$cache/grpc-work
  if [[ ! -f $prefix/done || $(head -1 "$prefix/done") != "${TSAN_GRPC_LIBS[*]}" ]]; then
    echo "== building gRPC $version with -fsanitize=thread into $prefix (once: about 10 CPU-minutes, 35 min on a busy 2-core machine)" >&2
    local start=$SECONDS
    rm -rf "$work" "$prefix"
    mkdir -p "$prefix/lib"
    debian_source grpc "$source_version" "$work/src" grpc
    local launcher=()
    if command -v ccache >/dev/null; then
      launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
    fi
    # debian/rules' COMMON_BUILD_FLAGS for the shared build, without the
    # plugins for other languages and the tests. CMake wants libprotoc for
    # grpc_cpp_plugin even though it is not built here; libprotoc-dev is not
    # installed, the library itself is (protoc's).
    local flags="-O1 -g1 -fsanitize=thread"
    cmake -S "$work/src/grpc" -B "$work/src/build" -G Ninja -DCMAKE_BUILD_TYPE=None \
      -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ "${launcher[@]}" \
      -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" \
      -DBUILD_SHARED_LIBS=ON -DgRPC_BUILD_TESTS=OFF \
      -DgRPC_ABSL_PROVIDER=package -DgRPC_CARES_PROVIDER=package \
      -DgRPC_PROTOBUF_PROVIDER=package -DgRPC_RE2_PROVIDER=package \
      -DgRPC_SSL_PROVIDER=package -DgRPC_ZLIB_PROVIDER=package \
      -DgRPC_BENCHMARK_PROVIDER=none -DgRPC_BACKWARDS_COMPATIBILITY_MODE=OFF \
      -DProtobuf_PROTOC_LIBRARY="$(ls /usr/lib/*/libprotoc.so.* | head -1)" \
      -DgRPC_BUILD_GRPC_CSHARP_PLUGIN=OFF -DgRPC_BUILD_GRPC_NODE_PLUGIN=OFF \
      -DgRPC_BUILD_GRPC_OBJECTIVE_C_PLUGIN=OFF -DgRPC_BUILD_GRPC_PHP_PLUGIN=OFF \
      -DgRPC_BUILD_GRPC_PYTHON_PLUGIN=OFF -DgRPC_BUILD_GRPC_RUBY_PLUGIN=OFF \
      >"$work/configure.log" 2>&1 || { cat "$work/configure.log" >&2; exit 1; }
    nice -n 10 cmake --build "$work/src/build" -j "$JOBS" --target "${TSAN_GRPC_LIBS[@]}" >&2
    local lib
    for lib in "${TSAN_GRPC_LIBS[@]}"; do
      cp -a "$work/src/build/lib$lib.so".* "$prefix/lib/"
    done
    # Each must be there under the SONAME Debian's package has.
    local soname
    for soname in libgrpc.so.29 libgrpc++.so.1.51 libgpr.so.29 libupb.so.29 \
      libaddress_sorting.so.29; do
      [[ -e $prefix/lib/$soname ]] || { echo "sanitize: no $soname built" >&2; exit 1; }
    done
    rm -rf "$work"
    printf '%s\n%s s\n' "${TSAN_GRPC_LIBS[*]}" "$((SECONDS - start))" >"$prefix/done"
    echo "== gRPC built in $((SECONDS - start)) s" >&2
  fi
  echo "$prefix/lib"
}

mode=${1:-asan}
case $mode in
  asan)
    # The CI subset gets its own folder: ctest there lists only the subset's
    # tests (a full build-asan would also run e2e_test).
    subset=${LIAISON_SANITIZE_SUBSET:-}
    build=${LIAISON_ASAN_BUILD_DIR:-$ROOT/build-asan${subset:+-$subset}}
    echo "== ASan+UBSan build into $build"
    # The CI subset's folder also has the fuzz targets (LIAISON_FUZZ: coverage
    # instrumentation, harmless to the tests): CI's fuzz step builds them there
    # (LIAISON_FUZZ_BUILD_DIR) on the libraries built here, not all over again.
    fuzz_args=()
    [[ $subset == ci ]] && fuzz_args=(-DLIAISON_FUZZ=ON)
    # (A folder from before without them gets them from scripts/fuzz.sh.)
    configure "$build" address,undefined "${fuzz_args[@]}"
    ctest_args=()
    if [[ $subset == ci ]]; then
      cmake --build "$build" -j "$JOBS" --target policy_test certs_test kafka_test integration_test \
        history_test history_flow_test
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
    # Four at a time on 2 cores: these tests run on the embedded mock and
    # mostly wait (its consumer-group joins take 3 s each), so the run takes
    # about half as long as with -j 2 (tests/README.md, "What CI runs").
    ctest --test-dir "$build" --output-on-failure -j "${LIAISON_CTEST_JOBS:-4}" --timeout 900 \
      "${ctest_args[@]}"
    ;;
  tsan)
    # The broker's multi-threaded unit tests: worker pool and offset commits
    # on librdkafka's mock (broker_core_test), topic mirrors and the linkage
    # book (broker_state_test), policy stage and hold book
    # (broker_stage_test), delivery index (broker_delivery_test), config
    # watcher and dev bootstrap (broker_test), flow log and metrics
    # (broker_operators_test). `tsan --full` adds the tests that run a whole
    # broker behind real gRPC with mTLS (integration_test, evidence_test),
    # against gRPC built with TSan too (tsan_grpc above; not clean without
    # it: tests/README.md "Sanitizer builds" says why). LIAISON_TSAN_TESTS
    # replaces the list (binary names), LIAISON_TSAN_FILTER passes a gtest
    # filter to each.
    full=0
    case ${2:-} in
      --full) full=1 ;;
      '') ;;
      *) echo "usage: $0 tsan [--full] (not '$2')" >&2; exit 2 ;;
    esac
    build=${LIAISON_TSAN_BUILD_DIR:-$ROOT/build-tsan}
    default_tests="broker_core_test broker_state_test broker_stage_test broker_delivery_test broker_test broker_operators_test"
    ((full)) && default_tests+=" integration_test evidence_test"
    read -r -a tests <<<"${LIAISON_TSAN_TESTS:-$default_tests}"
    tsan_libs=$(tsan_absl)
    ((full)) && tsan_libs=$(tsan_grpc):$tsan_libs
    echo "== TSan build into $build"
    configure "$build" thread
    cmake --build "$build" -j "$JOBS" --target "${tests[@]}" liaison_tsan_c11_threads tsan_selfcheck
    # halt_on_error=0: every report of a run is printed; the runtime then
    # exits with 66, which fails the run.
    supp=$SUPP/tsan.supp
    if ((full)); then
      # gRPC's own hand-offs are seen: its two called_from_lib entries,
      # there for Debian's gRPC, are left out (tsan.supp says why).
      supp=$build/tsan-full.supp
      grep -v -E '^called_from_lib:lib(grpc|gpr)\.so$' "$SUPP/tsan.supp" >"$supp"
    fi
    tsan_options=${TSAN_OPTIONS:-halt_on_error=0:second_deadlock_stack=1:history_size=4:suppressions=$supp}
    shim=$build/tests/libliaison_tsan_c11_threads.so
    logs=$build/tsan-logs
    rm -rf "$logs"
    mkdir -p "$logs"
    run() {  # LOG BINARY [gtest args...]: one test process under TSan
      local log=$1 bin=$2
      shift 2
      (cd "$(dirname "$bin")" &&
        env LD_LIBRARY_PATH="$tsan_libs" LD_PRELOAD="$shim" TSAN_OPTIONS="$tsan_options" \
          "$bin" "$@") >"$log" 2>&1
    }
    # First, whether this run can be trusted: absl::Mutex seen (instrumented
    # Abseil loaded), a planted race reported.
    if ! run "$logs/selfcheck-guarded.log" "$build/tests/tsan_selfcheck" guarded; then
      cat "$logs/selfcheck-guarded.log"
      echo "sanitize: TSan reports code guarded by absl::Mutex: is $tsan_libs loaded?" >&2
      exit 1
    fi
    if run "$logs/selfcheck-racy.log" "$build/tests/tsan_selfcheck" racy ||
      ! grep -q '^WARNING: ThreadSanitizer: data race' "$logs/selfcheck-racy.log"; then
      cat "$logs/selfcheck-racy.log"
      echo "sanitize: TSan did not report the planted race" >&2
      exit 1
    fi
    echo "== TSan self-check passed (absl::Mutex seen, planted race reported)"
    filter=(${LIAISON_TSAN_FILTER:+--gtest_filter=$LIAISON_TSAN_FILTER})
    failed=()
    for t in "${tests[@]}"; do
      bin=$(find "$build" -name "$t" -type f -perm -u+x | head -1)
      if ((full)); then
        # The gRPC it loads, if any, must be the instrumented one.
        grpc=$(env LD_LIBRARY_PATH="$tsan_libs" ldd "$bin" | awk '$1 == "libgrpc.so.29" { print $3 }')
        if [[ -n $grpc ]] && { [[ $grpc != "${tsan_libs%%:*}"/* ]] ||
          [[ $(nm -D "$grpc") != *' U __tsan_func_entry'* ]]; }; then
          echo "sanitize: $t loads '$grpc', not gRPC built with TSan" >&2
          exit 1
        fi
      fi
      start=$SECONDS
      if [[ $t == integration_test || $t == evidence_test ]]; then
        # Two gtest shards side by side (two cores); each is one process.
        pids=()
        for shard in 0 1; do
          GTEST_TOTAL_SHARDS=2 GTEST_SHARD_INDEX=$shard run "$logs/$t.$shard.log" "$bin" "${filter[@]}" &
          pids+=($!)
        done
        rc=0
        for p in "${pids[@]}"; do wait "$p" || rc=1; done
        outs=("$logs/$t".*.log)
      else
        rc=0
        run "$logs/$t.log" "$bin" "${filter[@]}" || rc=1
        outs=("$logs/$t.log")
      fi
      reports=$(cat "${outs[@]}" | grep -c '^WARNING: ThreadSanitizer' || true)
      summary=$(cat "${outs[@]}" | grep -E '^\[  (PASSED|FAILED)  \]' | tr '\n' ' ' || true)
      echo "== $t: $((SECONDS - start)) s, $summary, $reports TSan report(s)"
      if ((rc != 0)); then
        failed+=("$t")
        # The reports (and gtest's failures) of the failing binary.
        # (head closes the pipe early: not a failure of the script.)
        grep -h -A40 -E '^WARNING: ThreadSanitizer|^ThreadSanitizer: CHECK failed|^\[  FAILED  \]|^SUMMARY' \
          "${outs[@]}" | head -400 || true
      fi
    done
    echo "== TSan logs in $logs"
    if ((${#failed[@]})); then
      echo "== TSan run FAILED: ${failed[*]}"
      exit 1
    fi
    echo "== TSan run clean: ${tests[*]}"
    ;;
  *)
    echo "usage: $0 [asan|tsan [--full]]" >&2
    exit 2
    ;;
esac
