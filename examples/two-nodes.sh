#!/usr/bin/env bash
# Two JointWatch nodes on one machine: a USA node and a VNM node, two ports, two databases.
# The script links them, posts one report releasable to VNM and one that is not, and shows
# that the VNM node received only the first. Walkthrough: docs/sharing.md.
#
#   bash examples/two-nodes.sh            # uses .venv/bin/jointwatch (run `make install` first)
#   USA_PORT=8201 VNM_PORT=8202 KEEP=1 bash examples/two-nodes.sh   # keep the nodes running
set -euo pipefail

JW=${JW:-"$(cd "$(dirname "$0")/.." && pwd)/.venv/bin/jointwatch"}
USA_PORT=${USA_PORT:-8101}
VNM_PORT=${VNM_PORT:-8102}
WORK=${WORK:-"$(mktemp -d -t jointwatch-two-nodes.XXXXXX)"}
USA_URL="http://127.0.0.1:${USA_PORT}"
VNM_URL="http://127.0.0.1:${VNM_PORT}"
PY=${PY:-"$(dirname "$JW")/python"}
PIDS=()

jsonq() {  # jsonq 'python expression over d' < json  (no jq needed)
  "$PY" -c 'import json, sys; d = json.load(sys.stdin); r = eval(sys.argv[1]); print("\n".join(r) if isinstance(r, list) else r)' "$1"
}

cleanup() {
  if [[ -z "${KEEP:-}" ]]; then
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
  fi
}
trap cleanup EXIT

# Each node's settings: its nation, data directory (SQLite database inside) and port.
USA_ENV=(JOINTWATCH_NATION=USA "JOINTWATCH_DATA_DIR=$WORK/usa" "JOINTWATCH_PORT=$USA_PORT"
  JOINTWATCH_DETECT=false JOINTWATCH_FEDERATION_PULL_S=5)
VNM_ENV=(JOINTWATCH_NATION=VNM "JOINTWATCH_DATA_DIR=$WORK/vnm" "JOINTWATCH_PORT=$VNM_PORT"
  JOINTWATCH_DETECT=false JOINTWATCH_FEDERATION_PULL_S=5)
usa() { env "${USA_ENV[@]}" "$JW" "$@"; }
vnm() { env "${VNM_ENV[@]}" "$JW" "$@"; }

echo "== 1. an administrator on each node (tokens are shown once)"
usa admin user add usa-officer --role watch_officer --nation USA >/dev/null 2>&1
vnm admin user add vnm-officer --role watch_officer --nation VNM >/dev/null 2>&1
USA_TOKEN=$(usa admin token create usa-officer --name two-nodes 2>/dev/null)
VNM_TOKEN=$(vnm admin token create vnm-officer --name two-nodes 2>/dev/null)

echo "== 2. link the nodes: each registers the other and issues it a credential"
usa admin group set ASEAN-MARSEC --nations VNM,PHL,IDN,MYS --description "ASEAN maritime security" >/dev/null 2>&1
FOR_VNM=$(usa admin partner add vnm --nation VNM --url "$VNM_URL" --ceiling RESTRICTED 2>/dev/null)
FOR_USA=$(vnm admin partner add usa --nation USA --url "$USA_URL" --ceiling RESTRICTED 2>/dev/null)
usa admin partner set-token vnm "$FOR_USA" >/dev/null 2>&1
vnm admin partner set-token usa "$FOR_VNM" >/dev/null 2>&1

echo "== 3. start both nodes"
# env execs the node itself, so $! is the node's pid and the cleanup stops the node.
env "${USA_ENV[@]}" "$JW" serve >"$WORK/usa.log" 2>&1 & PIDS+=($!)
env "${VNM_ENV[@]}" "$JW" serve >"$WORK/vnm.log" 2>&1 & PIDS+=($!)
for url in "$USA_URL" "$VNM_URL"; do
  for _ in $(seq 1 150); do
    curl -fs "$url/api/health" >/dev/null 2>&1 && break
    sleep 0.2
  done
  curl -fs "$url/api/health" >/dev/null || { echo "node at $url did not start; logs in $WORK"; exit 1; }
done
echo "   USA node $USA_URL, VNM node $VNM_URL, data in $WORK"

post() {  # post TITLE MARKING_JSON
  curl -fs -H "Authorization: Bearer $USA_TOKEN" -H 'Content-Type: application/json' \
    -d "{\"kind\":\"report\",\"payload\":{\"title\":\"$1\",\"lat\":10.2,\"lon\":114.4},\"marking\":$2}" \
    "$USA_URL/api/records" | jsonq '"   posted on USA: %s  [%s]" % (d["payload"]["title"], d["banner"])'
}

echo "== 4. the USA officer posts two reports"
post "Skiff approaching bulk carrier near Spratly" '{"classification":"RESTRICTED","rel_to":["VNM"]}'
post "US-only source assessment" '{"classification":"RESTRICTED","local_only":true}'

echo "== 5. what the VNM officer sees"
seen=""
for _ in $(seq 1 50); do
  seen=$(curl -fs -H "Authorization: Bearer $VNM_TOKEN" "$VNM_URL/api/records?kind=report" \
    | jsonq '["   on VNM: %s  [%s] from %s" % (r["payload"]["title"], r["banner"], r["origin_nation"]) for r in d["records"]]')
  [[ -n "$seen" ]] && break
  sleep 0.2
done
echo "${seen:-   on VNM: nothing yet}"
count=$(curl -fs -H "Authorization: Bearer $VNM_TOKEN" "$VNM_URL/api/records?kind=report" | jsonq 'd["count"]')
echo "   VNM holds $count report(s) from USA"
curl -fs -H "Authorization: Bearer $USA_TOKEN" "$USA_URL/api/partners" \
  | jsonq '["   USA -> %s: pending %s, receipts %s, last error %s" % (p["name"], p["pending"], p["receipts"], p["last_error"] or "none") for p in d["partners"]]'
if [[ "$count" != "1" ]]; then
  echo "unexpected: VNM should hold exactly one report"; exit 1
fi
echo "== done: the VNM node received only the report released to it"
if [[ -n "${KEEP:-}" ]]; then
  echo "   nodes keep running (pids ${PIDS[*]}); stop them with: kill ${PIDS[*]}"
  echo "   sign in: usa admin user enrol usa-officer; vnm admin user enrol vnm-officer"
fi
