#!/usr/bin/env bash
# The demo (`make demo`): start a stand-in upstream (plain mosquitto on loopback) and the runtime
# with its connection string, deploy the example (a simulated temperature sensor and a filter,
# examples/deployment.json), show the modules and a live tail of the messages the router routes
# until Ctrl-C or DEMO_SECONDS seconds, then what the modules did and what reached the upstream,
# and stop everything.
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
config=$EDGE_HOME/config.toml
if [[ ! -f $config ]]; then
  # The hub's MQTT listeners (8883 TLS + SAS, 8884 TLS + X.509) on loopback only, for a demo.
  printf '[hub]\nbind_address = "127.0.0.1"\n' >"$config"
fi

edgectl() { "$bin/edgectl" "$@"; }
if [[ -t 1 ]]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
say() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
note() { printf '   %s\n' "$@"; }

stopped=no
upstream_pids=()
stop() {
  [[ $stopped == yes ]] && return
  stopped=yes
  say "edgectl down: stop the modules and the services"
  edgectl down || true
  if ((${#upstream_pids[@]})); then
    kill "${upstream_pids[@]}" 2>/dev/null || true
    wait "${upstream_pids[@]}" 2>/dev/null || true
  fi
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

# A stand-in for IoT Hub: a plain mosquitto on a free loopback port, with a subscriber recording
# what arrives, and the edge device's connection string pointing at it, so that the upstream link
# has somewhere to forward `$upstream` to. Skipped when the config says something of [device] or
# [router] already. Each runs in its own session: the Ctrl-C that ends the tail must not stop them
# before the summary.
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
upstream_port=
start_upstream() {
  local dir=$EDGE_HOME/upstream port pid
  mkdir -p "$dir"
  for _ in $(seq 20); do
    port=$((18830 + RANDOM % 1000))
    listening "$port" && continue
    printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' "$port" \
      >"$dir/mosquitto.conf"
    setsid mosquitto -c "$dir/mosquitto.conf" >"$dir/mosquitto.log" 2>&1 &
    pid=$!
    for _ in $(seq 50); do
      { listening "$port" || ! kill -0 "$pid" 2>/dev/null; } && break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null && listening "$port"; then
      upstream_pids+=("$pid")
      upstream_port=$port
      break
    fi
    kill "$pid" 2>/dev/null || true  # another process took the port first
  done
  [[ -n $upstream_port ]] || return 0
  setsid mosquitto_sub -h 127.0.0.1 -p "$upstream_port" -q 1 -v -t 'devices/#' \
    >"$dir/received.txt" 2>&1 &
  upstream_pids+=($!)
  printf '[device]\nconnection_string = "HostName=localhost;DeviceId=edge-device;SharedAccessKey=%s"\n[router]\nupstream_port = %s\nupstream_plain = true  # the stand-in speaks plain MQTT on loopback\n' \
    "$(head -c 32 /dev/urandom | base64)" "$upstream_port" >>"$config"
}
if ! grep -qE '^\[(device|router)\]' "$config"; then
  start_upstream
  if [[ -n $upstream_port ]]; then
    say "a stand-in for IoT Hub: plain mosquitto on 127.0.0.1:$upstream_port"
    note "config.toml gets the edge device's connection string (HostName=localhost;DeviceId=...)" \
      "and [router] upstream_port; mosquitto_sub records what arrives there."
  fi
fi

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

say "edgectl endpoint list: the queues the routes filled, and the upstream link"
edgectl endpoint list || true
if [[ -n $upstream_port ]]; then
  note "\$upstream drains over the upstream link; were the link down, the alerts would wait in" \
    "the store and go, in order, once it is back."
else
  note "\$upstream keeps the alerts: no upstream link is configured, so they wait (stored and" \
    "forwarded when one is)."
fi
note "DEPTH also counts entries delivered in the last 10 s: they stay re-deliverable for the" \
  "replay window in case the hub restarts."
if [[ -n $upstream_port ]]; then
  sleep 0.5  # the last alerts' PUBACKs
  say "what reached the stand-in IoT Hub (mosquitto_sub)"
  received=$(grep -c '^devices/' "$EDGE_HOME/upstream/received.txt" || true)
  note "$received messages reached the upstream, as the edge device's telemetry with their origin:"
  grep -m 1 '^devices/' "$EDGE_HOME/upstream/received.txt" | cut -c1-400 | sed 's/^/   /' || true
fi

say "edgectl twin get edge-device/filter: what the filter reports (its reported properties)"
edgectl twin get edge-device/filter || true

say "edgectl invoke edge-device/filter reset: a direct method; the filter answers its counts"
edgectl invoke edge-device/filter reset || true

say "edgectl logs tempSensor --tail 3"
edgectl logs tempSensor --tail 3 || true

trap - EXIT
stop
