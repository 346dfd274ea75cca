#!/usr/bin/env bash
# The demo (`make demo`): start the runtime, deploy the example (a simulated temperature sensor and a
# filter, examples/deployment.json), show the modules and a live tail of the messages the router
# routes until Ctrl-C or DEMO_SECONDS seconds, then what the modules did, and stop everything.
#
#   DEMO_SECONDS=N   stop the live tail after N seconds (default: run until Ctrl-C)
#   EDGE_HOME=DIR    the runtime's directory (default: a fresh build/demo-home)
#   EDGE_BIN_DIR=DIR where the binaries are (default: build/bin)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${EDGE_BIN_DIR:-$PWD/build/bin}
if [[ -z ${EDGE_HOME:-} ]]; then
  export EDGE_HOME=$PWD/build/demo-home
  "$bin/edgectl" down >/dev/null 2>&1 || true  # a demo left running by a killed terminal
  rm -rf "$EDGE_HOME"
fi
mkdir -p "$EDGE_HOME"
if [[ ! -f $EDGE_HOME/config.toml ]]; then
  # The hub's MQTT listeners (8883 TLS + SAS, 8884 TLS + X.509) on loopback only, for a demo.
  printf '[hub]\nbind_address = "127.0.0.1"\n' >"$EDGE_HOME/config.toml"
fi
edgectl() { "$bin/edgectl" "$@"; }
if [[ -t 1 ]]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
say() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
note() { printf '   %s\n' "$@"; }

stopped=no
stop() {
  [[ $stopped == yes ]] && return
  stopped=yes
  say "edgectl down: stop the modules and the services"
  edgectl down || true
  local left
  left=$(pgrep -f -- "$EDGE_HOME" || true)
  if [[ -z $left ]]; then
    note "no process is left running (EDGE_HOME was $EDGE_HOME)"
  else
    note "still running: $left"
    return 1
  fi
}
trap stop EXIT

say "edgectl up: start edge-store, edge-router, edge-hub and edge-agent under a supervisor"
note "EDGE_HOME=$EDGE_HOME (config, certificates, databases, logs, sockets)"
edgectl up

say "edgectl deploy examples/deployment.json"
note "two process modules, built with the runtime (examples/modules/):" \
  "  tempSensor  sends a machine/ambient temperature reading every SendInterval seconds" \
  "  filter      forwards readings above its TemperatureThreshold on its 'alert' output" \
  "each configured only by the environment the agent gives it (EdgeHubConnectionString, ...)," \
  "and by its module twin's desired properties, which the deployment sets too."
edgectl deploy examples/deployment.json

for _ in $(seq 100); do  # the agent follows $edgeAgent desired: the modules start within moments
  [[ $(edgectl list 2>/dev/null | grep -c ' running ') == 2 ]] && break
  sleep 0.1
done
say "edgectl list: the modules the agent runs"
edgectl list

say "edgectl route list: the routes the router follows (\$edgeHub desired)"
edgectl route list

seconds=${DEMO_SECONDS:-0}
if [[ $seconds == 0 ]]; then
  say "edgectl monitor: every message as the router routes it -- press Ctrl-C to stop"
else
  say "edgectl monitor: every message as the router routes it, for ${seconds}s (Ctrl-C stops it)"
fi
note "tempSensor -> filter (sensorToFilter); filter's alerts -> \$upstream (alertsToUpstream);" \
  "readings above 90 C also -> \$upstream at priority 0 (hotReadingsToUpstream, a WHERE on the body)"
monitor_args=(--brief)
[[ $seconds != 0 ]] && monitor_args+=(--timeout "$seconds")
trap 'true' INT  # Ctrl-C ends the tail (edgectl monitor gets it too); the script goes on
edgectl monitor "${monitor_args[@]}" || true
trap - INT

say "edgectl endpoint list: the queues the routes filled"
edgectl endpoint list || true
note "\$upstream keeps the alerts: no upstream link is configured, so they wait (stored and" \
  "forwarded when one is). DEPTH also counts entries delivered in the last 10 s: they stay" \
  "re-deliverable for the replay window in case the hub restarts."

say "edgectl twin get edge-device/filter: what the filter reports (its reported properties)"
edgectl twin get edge-device/filter || true

say "edgectl invoke edge-device/filter reset: a direct method; the filter answers its counts"
edgectl invoke edge-device/filter reset || true

say "edgectl logs tempSensor --tail 3"
edgectl logs tempSensor --tail 3 || true

trap - EXIT
stop
