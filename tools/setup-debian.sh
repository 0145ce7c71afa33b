#!/usr/bin/env bash
# Installs what edgert needs to build and test on Debian 12, from Debian's packages only.
# Idempotent: does nothing when every package is already installed.
#   --cross-aarch64   also the aarch64 cross compiler and qemu-user, to build and test the
#                     NEON path (cmake --toolchain cmake/aarch64-linux-gnu.cmake)
#   --fuzz            also clang and its sanitizer/libFuzzer runtimes (tests/fuzz/run.sh)
set -euo pipefail
packages=(build-essential cmake ninja-build pkg-config
          libxsimd-dev libprotobuf-dev protobuf-compiler libonnx-dev libonnx-testdata
          libgtest-dev libgmock-dev googletest libbenchmark-dev libcli11-dev nlohmann-json3-dev)
for arg in "$@"; do
  case "$arg" in
    --cross-aarch64) packages+=(g++-aarch64-linux-gnu qemu-user) ;;
    --fuzz) packages+=(clang libclang-rt-14-dev) ;;
    *) echo "usage: $0 [--cross-aarch64] [--fuzz]" >&2; exit 2 ;;
  esac
done
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
echo "installing: ${missing[*]}"
"${sudo[@]}" apt-get update -q
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
