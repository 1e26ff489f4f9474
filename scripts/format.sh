#!/usr/bin/env bash
# Formats every tracked .cc/.h file with .clang-format (clang-format 14).
#   scripts/format.sh            rewrite the files in place
#   scripts/format.sh --check    change nothing; list the files that do not
#                                follow .clang-format and exit 1 if any
set -euo pipefail
cd "$(dirname "$0")/.."

fmt=$(command -v clang-format-14 || command -v clang-format || true)
if [[ -z $fmt ]]; then
  echo "format: clang-format-14 is not installed (apt-get install clang-format-14)" >&2
  exit 2
fi
mapfile -t files < <(git ls-files '*.cc' '*.h')

if [[ ${1:-} == --check ]]; then
  # Batches on every core; clang-format names each file that differs in a
  # "FILE:LINE:COL: error: code should be clang-formatted" line.
  set +e
  report=$(printf '%s\0' "${files[@]}" |
    xargs -0 -n 40 -P "$(nproc)" "$fmt" --style=file --dry-run -Werror 2>&1)
  status=$?
  set -e
  mapfile -t bad < <(sed -n 's/^\(.*\):[0-9]*:[0-9]*: error: code should be clang-formatted.*/\1/p' \
    <<<"$report" | sort -u)
  if [[ ${#bad[@]} -gt 0 ]]; then
    printf '%s: does not follow .clang-format\n' "${bad[@]}"
    echo "format: ${#bad[@]} of ${#files[@]} files differ; run scripts/format.sh" >&2
    exit 1
  fi
  if [[ $status -ne 0 ]]; then
    echo "$report" >&2
    echo "format: clang-format failed (exit $status)" >&2
    exit 1
  fi
  echo "format: ${#files[@]} files follow .clang-format"
else
  printf '%s\0' "${files[@]}" | xargs -0 -n 50 "$fmt" --style=file -i
fi
