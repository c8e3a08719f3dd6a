#!/usr/bin/env bash
# README command (a): install dependencies, build (release), and run `omega-monitor serve` on
# 127.0.0.1:8080 with its built-in defaults (data in ./data, no config file needed). The
# server prints the dashboard URL and, on first start, the admin login.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j"$(nproc)"
echo "starting omega-monitor (Ctrl-C stops it)"
exec ./build/release/omega-monitor serve "$@"
