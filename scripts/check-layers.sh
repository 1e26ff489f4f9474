#!/usr/bin/env bash
# Checks every #include of every tracked .cc/.h file against LAYERS (the
# allowed edges between folders, and which folders may use OpenSSL, gRPC,
# librdkafka ...). Prints each include the layers do not allow, as
# file:line: folder -> target, and exits 1 if there is any.
#   scripts/check-layers.sh            the whole tree
#   scripts/check-layers.sh FILE...    only these files
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ $# -gt 0 ]]; then files=("$@"); else mapfile -t files < <(git ls-files '*.cc' '*.h'); fi

awk -v layers=LAYERS '
  BEGIN {
    while ((getline line < layers) > 0) {
      sub(/#.*/, "", line)
      if (line !~ /:/) continue
      split(line, kv, ":")
      folder = kv[1]; gsub(/[ \t]/, "", folder)
      if (folder != "unit-tests") folders[folder] = 1
      allowed[folder, folder] = 1
      n = split(kv[2], deps, /[ \t]+/)
      for (i = 1; i <= n; i++) if (deps[i] != "") {
        allowed[folder, deps[i]] = 1
        if (folder == "unit-tests") unit[deps[i]] = 1
      }
    }
    bad = 0
  }
  # The longest folder in LAYERS that contains `path` ("" if none).
  function owner(path,    best, f) {
    best = ""
    for (f in folders)
      if ((index(path, f "/") == 1) && length(f) > length(best)) best = f
    return best
  }
  FNR == 1 {
    me = owner(FILENAME)
    if (me == "") { printf "%s: not under any folder in LAYERS\n", FILENAME; bad = 1 }
  }
  /^[ \t]*#[ \t]*include[ \t]*[<"]/ {
    target = $0
    sub(/^[ \t]*#[ \t]*include[ \t]*[<"]/, "", target)
    sub(/[>"].*$/, "", target)
    if (target ~ /^liaison\/v1\/.*\.grpc\.pb\.h$/) dep = "proto-grpc"
    else if (target ~ /^liaison\/v1\/.*\.pb\.h$/) dep = "proto"
    else if (target ~ /^(grpcpp|grpc)\//) dep = "grpc"
    else if (target ~ /^openssl\//) dep = "openssl"
    else if (target ~ /^librdkafka\//) dep = "rdkafka"
    else if (target == "httplib.h") dep = "httplib"
    else if (target ~ /^unicode\//) dep = "icu"
    else if (target ~ /^phonenumbers\//) dep = "phonenumber"
    else {
      dep = owner(target)
      if (dep == "") next  # an outside header allowed everywhere
    }
    if (me == "" || (me, dep) in allowed || (me, "*") in allowed) next
    if (FILENAME ~ /_test\.cc$/) for (u in unit) if (index(target, u "/") == 1) next
    printf "%s:%d: %s may not include %s (%s)\n", FILENAME, FNR, me, target, dep
    bad = 1
  }
  END { exit bad }
' "${files[@]}" && echo "layers: ${#files[@]} files, every include allowed by LAYERS"
