#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with ASan+UBSan in their own build
# folder (LIAISON_FUZZ_BUILD_DIR: another one configured with LIAISON_FUZZ=ON,
# such as CI's build-asan-ci) and runs each one for SECONDS from its seed corpus. Called by
# `scripts/dev.sh fuzz [SECONDS] [TARGET...]` (which installs the packages).
#
# Per target it prints the seconds run, executions, corpus size and whether
# it crashed; crash/leak/timeout inputs land outside git, under
# var/fuzz/runs/<time>/<target>/, and are listed by path. Exit 1 on any crash.
# New corpus entries accumulate in var/fuzz/<target>/corpus (not in git).
set -euo pipefail

cd "$(dirname "$0")/.."
readonly ROOT=$PWD
readonly BUILD=${LIAISON_FUZZ_BUILD_DIR:-$ROOT/build-fuzz}
readonly OUT=${LIAISON_FUZZ_OUT:-$ROOT/var/fuzz}
readonly ALL_TARGETS=(envelope_fuzz registry_fuzz cli_json_fuzz policy_chain_fuzz merkle_proof_fuzz)

seconds=${1:-60}
[[ $seconds =~ ^[0-9]+$ && $seconds -gt 0 ]] || { echo "fuzz: SECONDS must be a positive integer" >&2; exit 2; }
shift || true
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=("${ALL_TARGETS[@]}")

echo "== building fuzz targets into $BUILD"
if [[ ! -f $BUILD/build.ninja ]]; then
  # The sanitizer builds' flags (scripts/sanitize.sh): -O1, line tables.
  flags=${LIAISON_SANITIZE_FLAGS:--O1 -gline-tables-only -DNDEBUG}
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_FLAGS_RELWITHDEBINFO="$flags" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="$flags" \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DLIAISON_FUZZ=ON -DLIAISON_SANITIZE=address,undefined \
    -DLIAISON_TESTS=OFF -DLIAISON_BENCH=OFF >/dev/null
fi
# A folder configured before without the fuzz targets (an older build-asan-ci)
# gets them, and the coverage instrumentation of everything it compiles.
if ! grep -q '^LIAISON_FUZZ:BOOL=ON$' "$BUILD/CMakeCache.txt"; then
  cmake -S "$ROOT" -B "$BUILD" -DLIAISON_FUZZ=ON >/dev/null
fi
cmake --build "$BUILD" -j "${LIAISON_JOBS:-$(nproc)}" --target "${targets[@]}"

# envelope_fuzz's test PKI, minted once (its `now` is fixed by the PKI).
if [[ ! -f $OUT/pki/ca.pem ]]; then
  rm -rf "$OUT/pki"
  mkdir -p "$OUT"
  "$ROOT/certs/scripts/mint-dev-pki.sh" init "$OUT/pki" >/dev/null
fi
export LIAISON_FUZZ_PKI=$OUT/pki
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

run_dir=$OUT/runs/$(date -u +%Y%m%dT%H%M%SZ)
failed=0
summary=()
for t in "${targets[@]}"; do
  seeds=$ROOT/tests/fuzz/corpus/$t
  work=$OUT/$t/corpus
  artifacts=$run_dir/$t
  mkdir -p "$work" "$artifacts"
  echo "== fuzzing $t for ${seconds}s (log: $artifacts/log)"
  start=$(date +%s)
  rc=0
  # The first corpus folder receives new inputs; the seeds in git stay as they are.
  # -timeout: an input running 30 s counts as a finding (a hang).
  "$BUILD/tests/fuzz/$t" -max_total_time="$seconds" -timeout=30 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "$work" "$seeds" >"$artifacts/log" 2>&1 || rc=$?
  ran=$(( $(date +%s) - start ))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$artifacts/log" | tail -1)
  corpus=$(grep -o 'corp: [0-9]*' "$artifacts/log" | tail -1 | sed 's/corp: //')
  mapfile -t found < <(find "$artifacts" -maxdepth 1 -type f \
    \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | sort)
  if [[ $rc -ne 0 || ${#found[@]} -gt 0 ]]; then
    failed=1
    result="CRASH (exit $rc)"
    grep -m1 -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error|_fuzz: ' \
      "$artifacts/log" | sed 's/^/   /' || true
    for f in "${found[@]}"; do result+=" $f"; done
  else
    result="no crash"
  fi
  summary+=("$(printf '%-18s %5ss %10s execs  corpus %6s  %s' "$t" "$ran" "${execs:-?}" "${corpus:-?}" "$result")")
done

echo "== fuzz summary (${seconds}s per target; logs and findings under $run_dir)"
printf '%s\n' "${summary[@]}"
exit $failed
