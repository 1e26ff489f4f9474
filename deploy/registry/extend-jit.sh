#!/usr/bin/env bash
# Records the extension of a joint investigation team in a registry file:
#
#   deploy/registry/extend-jit.sh REGISTRY JIT_ID NEW_END REFERENCE
#
# NEW_END is the first day the JIT no longer runs (exclusive, as every end in
# the registry: "valid through 2027-05-31" is 2027-06-01). The script sets the
# JIT's `end`, appends an `extensions` entry (previous end, new end,
# REFERENCE) and bumps the registry's `version` ("+ext-<unix seconds>"), in
# place. The registry keeps its comments and layout; a running broker reloads
# the file within seconds and refuses it, keeping the old one, if it does not
# validate. Shortening a JIT is refused here: end it by editing `end` and
# removing members, so that the change is deliberate.
set -euo pipefail

if [[ $# -ne 4 ]]; then
  echo "usage: $0 REGISTRY JIT_ID NEW_END(YYYY-MM-DD, exclusive) REFERENCE" >&2
  exit 2
fi
registry=$1 jit=$2 new_end_date=$3 reference=$4
[[ -r $registry && -w $registry ]] || { echo "$registry: cannot be read and written" >&2; exit 66; }
[[ $jit =~ ^[A-Za-z0-9._:-]+$ ]] || { echo "JIT id '$jit': letters, digits and . _ : - only" >&2; exit 2; }
[[ $reference != *'"'* && $reference != *'\'* ]] || { echo "REFERENCE must not contain quotes or backslashes" >&2; exit 2; }
new_end=$(date -u -d "$new_end_date 00:00:00" +%s 2>/dev/null) ||
  { echo "NEW_END '$new_end_date': not a date (YYYY-MM-DD)" >&2; exit 2; }

tmp=$(mktemp "$registry.XXXXXX")
trap 'rm -f "$tmp"' EXIT
# One pass: inside the `jits { ... }` block whose id is JIT (top-level blocks
# open with "jits {" at column 0 and close with "}" at column 0), replace the
# `end` line and add the extension before the closing brace.
if ! awk -v jit="$jit" -v new_end="$new_end" -v ref="$reference" -v now="$(date -u +%s)" '
  function day(s) { cmd = "date -u -d @" s " +%F"; cmd | getline d; close(cmd); return d }
  BEGIN { in_block = 0; found = 0; done = 0; prev = "" }
  /^jits \{/ { in_block = 1; block_is_jit = 0 }
  in_block && $0 ~ "^  id: \"" jit "\"" { block_is_jit = 1; found = 1 }
  in_block && block_is_jit && /^  end \{ seconds: [0-9]+ \}/ {
    match($0, /[0-9]+/); prev = substr($0, RSTART, RLENGTH)
    if (new_end + 0 <= prev + 0) {
      print "the extension must move the end later: it is " day(prev) > "/dev/stderr"; failed = 3; exit 3
    }
    print "  end { seconds: " new_end " }    # " day(new_end) " (valid through the day before)"
    next
  }
  in_block && /^\}/ {
    if (block_is_jit && prev != "") {
      print "  extensions {"
      print "    previous_end { seconds: " prev " }  # " day(prev)
      print "    new_end { seconds: " new_end " }       # " day(new_end)
      print "    reference: \"" ref "\""
      print "  }"
      done = 1
    }
    in_block = 0; block_is_jit = 0
  }
  /^version: "/ && !versioned {
    v = $0; sub(/^version: "/, "", v); sub(/".*$/, "", v); sub(/\+ext-[0-9]+$/, "", v)
    print "version: \"" v "+ext-" now "\""; versioned = 1; next
  }
  { print }
  END { if (failed) exit failed; if (!found) { print "no JIT with id " jit > "/dev/stderr"; exit 4 } if (!done) { print "JIT " jit " has no end line" > "/dev/stderr"; exit 5 } }
' "$registry" >"$tmp"; then
  echo "$registry: not changed" >&2
  exit 65
fi
cat "$tmp" >"$registry"
echo "$registry: $jit now ends $(date -u -d "@$new_end" +%F) (exclusive), extension '$reference' recorded"
