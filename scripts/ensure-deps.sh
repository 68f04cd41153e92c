#!/usr/bin/env bash
# Installs what gridgate's demo and tests need, if it is missing: Debian packages (as root) and
# node_modules (npm ci). Where it cannot install, it says exactly what to install and stops.
set -euo pipefail

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v victoria-metrics >/dev/null 2>&1 || need+=(victoria-metrics)
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
command -v mosquitto_pub >/dev/null 2>&1 || need+=(mosquitto-clients)
command -v ffmpeg >/dev/null 2>&1 || need+=(ffmpeg)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
# systemd-analyze checks the shipped unit file (deploy/gridgate.service) in the test suite.
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
# setpriv --pdeathsig: a camera's ffmpeg dies with the gateway, even when the gateway is SIGKILLed.
command -v setpriv >/dev/null 2>&1 || need+=(util-linux)
# The RTSP camera simulator (simulators/rtsp/camera-server.py, run with /usr/bin/python3): GStreamer's
# RTSP server and its Python bindings, x264enc (plugins-ugly), rtph264pay (plugins-good), appsrc
# (plugins-base), numpy to draw the frames. These have no command to look for, so ask dpkg.
for pkg in python3-gi python3-numpy gir1.2-gstreamer-1.0 gir1.2-gst-rtsp-server-1.0 \
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || need+=("$pkg")
done

if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "gridgate needs these Debian packages: ${need[*]}" >&2
    echo "Install them as root:  apt-get install -y ${need[*]}   (then run make again)" >&2
    exit 1
  fi
  echo "installing Debian packages: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "gridgate needs Node.js 20 or newer (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
