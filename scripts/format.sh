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
  bad=()
  for f in "${files[@]}"; do
    "$fmt" --style=file "$f" | cmp -s - "$f" || bad+=("$f")
  done
  if [[ ${#bad[@]} -gt 0 ]]; then
    printf '%s: does not follow .clang-format\n' "${bad[@]}"
    echo "format: ${#bad[@]} of ${#files[@]} files differ; run scripts/format.sh" >&2
    exit 1
  fi
  echo "format: ${#files[@]} files follow .clang-format"
else
  printf '%s\0' "${files[@]}" | xargs -0 -n 50 "$fmt" --style=file -i
fi
