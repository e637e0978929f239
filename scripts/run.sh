#!/usr/bin/env bash
# Brings Cirrus up on its embedded store and shows it working: builds the binaries, starts
# cirrus-controller on 127.0.0.1:8082 with its data in ./cirrus-data, applies a small tenant
# with cirrusctl and prints what the API made of it. The controller keeps running; stop it
# with `kill $(cat cirrus-data/controller.pid)`.
set -euo pipefail
cd "$(dirname "$0")/.."

LISTEN=${CIRRUS_API_LISTEN:-127.0.0.1:8082}
DATA=${CIRRUS_DATA_DIR:-$PWD/cirrus-data}
cargo build --release -p cirrus-controller -p cirrus-cli
BIN=${CARGO_TARGET_DIR:-$PWD/target}/release
mkdir -p "$DATA"

if [ -f "$DATA/controller.pid" ] && kill -0 "$(cat "$DATA/controller.pid")" 2>/dev/null; then
  echo "cirrus-controller already running (pid $(cat "$DATA/controller.pid"))"
else
  "$BIN/cirrus-controller" --api-listen "$LISTEN" --data-dir "$DATA" >>"$DATA/controller.log" 2>&1 &
  echo $! >"$DATA/controller.pid"
  for _ in $(seq 1 100); do
    "$BIN/cirrusctl" --api "http://$LISTEN" list domain >/dev/null 2>&1 && break
    kill -0 "$(cat "$DATA/controller.pid")" 2>/dev/null || { cat "$DATA/controller.log"; exit 1; }
    sleep 0.1
  done
  echo "cirrus-controller running (pid $(cat "$DATA/controller.pid")), VNC API on http://$LISTEN, data in $DATA"
fi

export CIRRUS_API="http://$LISTEN"
echo; echo "\$ cirrusctl apply -f examples/demo.yaml"
"$BIN/cirrusctl" apply -f examples/demo.yaml
echo; echo "\$ cirrusctl list virtual-network"
"$BIN/cirrusctl" list virtual-network
echo; echo "\$ cirrusctl get instance-ip web-1-eth0-v4 -o yaml"
"$BIN/cirrusctl" get instance-ip web-1-eth0-v4 -o yaml
echo
echo "Cirrus is up. Try: $BIN/cirrusctl list virtual-network -o yaml  (or any HTTP client on http://$LISTEN/)"
echo "Stop it with: kill \$(cat $DATA/controller.pid)"
