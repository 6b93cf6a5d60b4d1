#!/usr/bin/env bash
# TAXII 2.1 interoperability checks against the OASIS reference implementations (README.md here).
#
#   scripts/interop/run.sh CTI_TAXII_SERVER CTI_TAXII_CLIENT ENVIRON_CONFIG JSONMERGE
#
# Each argument is the directory of one project's source tree. Starts two Accord nodes (XA, XB)
# and medallion on free loopback ports in a temporary directory, runs checks.py, stops them.
# Exit status: 0 every check passed, 1 a check failed (checks.py says which), 2 the setup failed.
# INTEROP_KEEP=1 keeps the temporary directory (logs, node directories); it is kept on failure.
set -euo pipefail

if [[ $# -ne 4 ]]; then
  echo "usage: $0 CTI_TAXII_SERVER CTI_TAXII_CLIENT ENVIRON_CONFIG JSONMERGE" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
server_src=$(cd "$1" && pwd)
export PYTHONPATH="$server_src:$(cd "$2" && pwd):$(cd "$3" && pwd)/src:$(cd "$4" && pwd)"
python=${PYTHON:-python3}
# The accord CLI from this checkout's sources (tsx resolves from the repository's node_modules).
cd "$repo"
accord=(node --import tsx "$repo/src/cli/main.ts")

fail() {
  echo "setup failed: $*" >&2
  exit 2
}
trap 'fail "line $LINENO exited $?"' ERR
"$python" -c 'import medallion, taxii2client.v21' 2>/dev/null ||
  fail "$python cannot import medallion and taxii2client (see scripts/interop/README.md)"

work=$(mktemp -d "${TMPDIR:-/tmp}/accord-interop.XXXXXX")
pids=()
status=2
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [[ $status -eq 0 && ${INTEROP_KEEP:-0} != 1 ]]; then rm -rf "$work"; else echo "kept $work"; fi
}
trap cleanup EXIT

# Three free loopback ports (asked of the kernel, then released for the servers to take).
read -r port_xa port_xb port_medallion < <("$python" -c '
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))')

# Wait until URL answers HTTP at all (any status: discovery wants credentials).
wait_http() {
  for _ in $(seq 120); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' "$1") != 000 ]] && return 0
    sleep 0.5
  done
  fail "$1 did not answer; see $work/*.log"
}

declare -A fingerprint
for node in XA XB; do
  dir="$work/${node,,}"
  port_var="port_${node,,}"
  fingerprint[$node]=$("${accord[@]}" init --node-id "$node" --dir "$dir" --port "${!port_var}" |
    awk '$1 == "fingerprint" { print $2 }')
  cp "$here/interop-exchange.yaml" "$dir/agreements/"
  "${accord[@]}" node start --dir "$dir" >"$work/${node,,}.log" 2>&1 &
  pids+=($!)
done
xa_url="http://127.0.0.1:$port_xa"
xb_url="http://127.0.0.1:$port_xb"
wait_http "$xa_url/taxii2/"
wait_http "$xb_url/taxii2/"
"${accord[@]}" peer add "$xb_url" --fingerprint "${fingerprint[XB]}" --dir "$work/xa" >/dev/null
"${accord[@]}" peer add "$xa_url" --fingerprint "${fingerprint[XA]}" --dir "$work/xb" >/dev/null
# `agreement sign` exits 4 while the agreement is not in force: after XA's signature, it is not
# yet; after XB's, it must be.
"${accord[@]}" agreement sign interop-exchange --dir "$work/xa" >/dev/null || [[ $? -eq 4 ]]
"${accord[@]}" agreement sign interop-exchange --dir "$work/xb" >/dev/null ||
  fail "interop-exchange is not in force after both signatures"
# XB's credentials on XA, read-only and read-write; each bearer token into a 0600 file.
issue() {
  "${accord[@]}" taxii credential add --partner XB --purpose cyber-defence --dir "$work/xa" \
    --json "$@" | "$python" -c 'import json, sys; print(json.load(sys.stdin)["token"], end="")'
}
(
  umask 077
  issue --id XB-reader >"$work/xb-reader"
  issue --id XB-writer --write >"$work/xb-writer"
  printf '%s' Password0 >"$work/medallion-password"
)

# medallion with its memory backend and sample data (read at start, never written back).
cat >"$work/medallion.json" <<EOF
{
  "backend": {"module_class": "MemoryBackend", "filename": "$server_src/medallion/test/data/default_data.json"},
  "users": {"admin": "Password0"},
  "taxii": {"max_page_size": 100}
}
EOF
"$python" -m medallion.scripts.run --host 127.0.0.1 --port "$port_medallion" --no-conf-dir \
  --conf-file "$work/medallion.json" >"$work/medallion.log" 2>&1 &
pids+=($!)
medallion_url="http://127.0.0.1:$port_medallion"
wait_http "$medallion_url/taxii2/"

status=0
"$python" "$here/checks.py" --accord "$(printf '%q ' "${accord[@]}")" \
  --xa-url "$xa_url" --xa-dir "$work/xa" --xb-url "$xb_url" --xb-dir "$work/xb" \
  --partner-token-file "$work/xb-reader" --partner-writer-token-file "$work/xb-writer" \
  --medallion-url "$medallion_url" \
  --medallion-user admin --medallion-password-file "$work/medallion-password" || status=$?
exit "$status"
