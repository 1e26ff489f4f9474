#!/usr/bin/env bash
# faults.soak_stops_on_a_signal: liaison-soak sent SIGINT mid-flood (as Ctrl-C
# does) stops its senders, drains and checks everything accepted so far and
# prints the whole report: verdict PASS, exit status 130, and no liaison-broker
# node of the run left behind.
# Usage: soak_stop_test.sh LIAISON_SOAK STATE_DIR WORK_DIR
set -uo pipefail
soak=$1 state=$2 work=$3
out="$work.out"
rm -rf "$work" "$out"
fail() {
  echo "FAIL: $*"
  echo "---- liaison-soak's output:"
  cat "$out"
  pkill -9 -f -- "--dir $work/node-" 2>/dev/null
  exit 1
}

"$soak" --messages 1000000 --fault-every 3600 --faults liaison-node-killed \
  --state-dir "$state" --work-dir "$work" >"$out" 2>&1 &
pid=$!
for _ in $(seq 1 180); do
  grep -q '^\[.*\] subscribed; flooding' "$out" && break
  kill -0 "$pid" 2>/dev/null || fail "liaison-soak ended before flooding"
  sleep 1
done
grep -q 'subscribed; flooding' "$out" || fail "no flood within 180 s"
sleep 8
kill -INT "$pid"
# The drain and the check of a few hundred messages take seconds.
for _ in $(seq 1 300); do
  kill -0 "$pid" 2>/dev/null || break
  sleep 1
done
if kill -0 "$pid" 2>/dev/null; then
  kill -9 "$pid"
  fail "still running 300 s after SIGINT"
fi
wait "$pid"
rc=$?
[[ $rc -eq 130 ]] || fail "exit status $rc, expected 130 (stopped by a signal, checked clean)"
grep -q 'senders stopped (stop requested by a signal)' "$out" || fail "no 'senders stopped' line"
grep -Eq '^verdict: PASS \(stopped early: [1-9][0-9]* of 1000000 messages\)$' "$out" ||
  fail "no PASS verdict for the messages accepted before the signal"
grep -q '^lost:       0 ' "$out" || fail "messages lost"
grep -q '^duplicated: 0 ' "$out" || fail "messages duplicated"
grep -q '^checker: OK' "$out" || fail "the checker found violations"
if pgrep -f -- "$work/node-" >/dev/null; then
  fail "a liaison-broker node of the run is still running"
fi
grep -E '^(flood|accepted|delivered|lost|duplicated|verdict):' "$out"
echo "PASS: liaison-soak stopped on SIGINT with its report (exit 130)"
