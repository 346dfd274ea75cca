#!/usr/bin/env bash
# Installs every Debian 12 package the project needs to build, test, benchmark and run its demo.
# Idempotent: packages already present are skipped by apt; the package index is refreshed once.
set -euo pipefail

packages=(
  # Toolchain.
  build-essential cmake ninja-build pkg-config git clang-format
  # Libraries the code links.
  libgrpc++-dev protobuf-compiler-grpc protobuf-compiler libprotobuf-dev libabsl-dev
  libsqlitecpp-dev libsqlite3-dev libssl-dev zlib1g-dev
  mosquitto mosquitto-dev libmosquitto-dev
  nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev libtomlplusplus-dev libcpp-httplib-dev
  # Tests.
  libgtest-dev libgmock-dev googletest sqlite3 procps
  mosquitto-clients python3 python3-paho-mqtt
  clang libclang-rt-14-dev
  podman runc docker-registry apache2-utils
)
# Node.js runs the IoT Hub SDK clients in tests; a machine that already has a Node.js (with its own
# npm) keeps it, since Debian's nodejs conflicts with a separately installed npm.
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
# Installing a server package must not start it on its default port where an init system runs.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
  $SUDO chmod 755 "$policy"
  created_policy=1
fi
$SUDO apt-get install -y --no-install-recommends "${missing[@]}"
[ "$created_policy" -eq 0 ] || $SUDO rm -f "$policy"
echo "install-deps: installed ${#missing[@]} packages"
