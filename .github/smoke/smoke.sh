#!/usr/bin/env bash
# Kind smoke test of the chart (SPEC 2 and 12): a shift moves NEW WebSockets and leaves established ones alone.
#
#   1. a WebSocket through the chart's Envoy (port-forward to its Service, Host chat.example.com) is answered
#      by v1;
#   2. `kubectl annotate --overwrite svc chat ebb.dev/canary-weight=100`;
#   3. new WebSockets are answered by v2 (within a timeout);
#   4. the first WebSocket is still open and still answered by v1, and Ebb reports chat-v1 as draining.
#
# Expects: the chart installed as release "ebb" in $NS with envoy.enabled=true, and .github/smoke/backends.yaml
# applied in $ROUTE_NS. Needs kubectl, node and npm (for the `ws` package), jq. Exits non-zero on any failure.
set -euo pipefail

NS=${NS:-ebb-system}
ROUTE_NS=${ROUTE_NS:-default}
RELEASE=${RELEASE:-ebb}
HOST=${HOST:-chat.example.com}
LOCAL_PORT=${LOCAL_PORT:-18080}
ENVOY_PORT=${ENVOY_PORT:-10000}   # the Envoy Service's port for the "edge" listener
TIMEOUT=${TIMEOUT:-90}            # seconds to wait for each expected state

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORK=$(mktemp -d)
URL="ws://127.0.0.1:${LOCAL_PORT}/"
PIDS=()

log() { echo "smoke: $*" >&2; }

cleanup() {
  for p in "${PIDS[@]}"; do
    kill "$p" 2>/dev/null || true
  done
}
trap cleanup EXIT

diagnostics() {
  log "---- diagnostics ----"
  kubectl get pods -A -o wide || true
  kubectl -n "$ROUTE_NS" get svc chat -o jsonpath='{.metadata.annotations}' || true
  echo
  kubectl -n "$ROUTE_NS" get events --field-selector involvedObject.name=chat || true
  kubectl -n "$NS" logs "deploy/${RELEASE}" --tail=100 || true
  kubectl -n "$NS" logs "deploy/${RELEASE}-envoy" -c envoy --tail=50 || true
  log "port-forward:"; cat "$WORK/port-forward.log" || true
  log "first WebSocket:"; cat "$WORK/hold.log" || true
  log "probe errors:"; tail -20 "$WORK/probe.err" || true
}

fail() {
  log "FAIL: $*"
  diagnostics
  exit 1
}

# The version that answers a NEW WebSocket ("v1", "v2"), or "" when none answers.
probe() {
  node "$HERE/ws-client.js" probe "$URL" "$HOST" 2>>"$WORK/probe.err" | awk '{print $1}' || true
}

# Waits until a new WebSocket is answered by version $1.
await_new_streams_on() {
  local want=$1 got="" deadline=$((SECONDS + TIMEOUT))
  while ((SECONDS < deadline)); do
    got=$(probe)
    if [[ $got == "$want" ]]; then
      log "new WebSockets are answered by $want"
      return 0
    fi
    sleep 1
  done
  fail "new WebSockets were not answered by $want within ${TIMEOUT}s (last answer: '${got:-none}')"
}

# The client library, outside the checkout (one small package; no lock file needed).
npm install --prefix "$WORK" --no-save --no-audit --no-fund --silent ws@8 >&2
export NODE_PATH="$WORK/node_modules"

# The Envoy fleet's Service, through a port-forward (the kind node's NodePort is not reachable from the runner
# without extra port mappings).
kubectl -n "$NS" port-forward "svc/${RELEASE}-envoy" "${LOCAL_PORT}:${ENVOY_PORT}" >"$WORK/port-forward.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 30); do
  if (exec 3<>"/dev/tcp/127.0.0.1/${LOCAL_PORT}") 2>/dev/null; then
    break
  fi
  sleep 1
done
(exec 3<>"/dev/tcp/127.0.0.1/${LOCAL_PORT}") 2>/dev/null || fail "the port-forward to svc/${RELEASE}-envoy did not open"

# 1. v1 answers (Ebb may need a moment to push the route after the install).
await_new_streams_on v1

# The first WebSocket: open for the whole test, one message a second.
node "$HERE/ws-client.js" hold "$URL" "$HOST" 1000 >"$WORK/hold.log" 2>&1 &
HOLDER=$!
PIDS+=("$HOLDER")
for _ in $(seq 1 20); do
  grep -q ' REPLY ' "$WORK/hold.log" && break
  sleep 0.5
done
first=$(awk '$2 == "REPLY" {print $3; exit}' "$WORK/hold.log")
[[ $first == v1 ]] || fail "the first WebSocket was answered by '${first:-nothing}', not v1"
log "the first WebSocket is open and answered by v1"

# 2. The shift: every NEW stream to v2.
kubectl -n "$ROUTE_NS" annotate --overwrite svc chat ebb.dev/canary-weight=100
shifted_at=$(wc -l <"$WORK/hold.log")

# 3. New WebSockets go to v2.
await_new_streams_on v2

# 4. The first WebSocket: still open, still v1, still answering (a few more round trips after the shift).
sleep 8
kill -0 "$HOLDER" 2>/dev/null || fail "the first WebSocket ended: $(tail -1 "$WORK/hold.log")"
if grep -Eq ' (CLOSED|ERROR|TIMEOUT) ' "$WORK/hold.log"; then
  fail "the first WebSocket reported: $(grep -E ' (CLOSED|ERROR|TIMEOUT) ' "$WORK/hold.log" | head -1)"
fi
after=$(tail -n +"$((shifted_at + 1))" "$WORK/hold.log" | awk '$2 == "REPLY"')
count=$(printf '%s\n' "$after" | grep -c ' REPLY ' || true)
((count >= 5)) || fail "the first WebSocket got only $count replies after the shift"
if printf '%s\n' "$after" | awk '$3 != "v1"' | grep -q .; then
  fail "the first WebSocket was answered by another version after the shift: $(printf '%s\n' "$after" | awk '$3 != "v1"' | head -1)"
fi
log "the first WebSocket is still open and answered by v1 ($count replies since the shift)"

# Ebb's view (SPEC 3): chat-v1 is draining (its stream keeps it until the drain timeout or the last stream).
deadline=$((SECONDS + 20))
status=""
while ((SECONDS < deadline)); do
  status=$(kubectl -n "$ROUTE_NS" get svc chat -o jsonpath='{.metadata.annotations.ebb\.dev/status}')
  if [[ -n $status ]] && jq -e '[.draining[]?.backend | select(contains("chat-v1"))] | length > 0' \
      <<<"$status" >/dev/null 2>&1; then
    break
  fi
  sleep 1
done
jq -e '[.draining[]?.backend | select(contains("chat-v1"))] | length > 0' <<<"$status" >/dev/null 2>&1 \
  || fail "ebb.dev/status does not list chat-v1 as draining: ${status:-<none>}"
log "ebb.dev/status: $status"

kill "$HOLDER" 2>/dev/null || true
log "PASS: the shift moved new WebSockets to v2 and left the established one on v1"
