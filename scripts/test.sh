#!/usr/bin/env bash
# README command (b): install dependencies (with the browser-test ones), build the Debug
# configuration with AddressSanitizer + UndefinedBehaviorSanitizer and -Werror, and run the
# whole suite through CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-deps.sh --test
cmake --preset debug >/dev/null
cmake --build --preset debug -j"$(nproc)"
ctest --preset debug "$@"
