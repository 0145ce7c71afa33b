#!/usr/bin/env bash
# Installs the build into a scratch prefix, then builds a separate consumer project against
# it twice: with CMake's find_package(edgert) (C on the shared library, C++ on the shared and
# the static library) and with pkg-config. Each program runs a model on several threads and
# must reproduce `edgert run`'s outputs bit for bit. Also checks what libedgert.so exports.
#   install_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1
src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
cmake --install "$build" --prefix "$prefix" >/dev/null
libdir=$(find "$prefix" -name libedgert.so -printf '%h\n' | head -n1)
for f in "$prefix/bin/edgert" "$prefix/include/edgert/edgert.h" "$prefix/include/edgert/edgert.hpp" \
         "$libdir/libedgert.a" "$libdir/libedgert.so" "$libdir/cmake/edgert/edgertConfig.cmake" \
         "$libdir/pkgconfig/edgert.pc"; do
  [ -e "$f" ] || { echo "FAIL: not installed: $f"; exit 1; }
done
edgert=$prefix/bin/edgert
"$edgert" --version | head -n1

# Only the C API and namespace edgert leave the shared library.
leaked=$(nm -D --defined-only "$libdir/libedgert.so" | awk '{print $3}' | c++filt |
         grep -v -E '^(edgert_|edgert::|typeinfo for edgert::|typeinfo name for edgert::|vtable for edgert::)' || true)
if [ -n "$leaked" ]; then
  echo "FAIL: libedgert.so exports symbols outside edgert_* and edgert::"
  echo "$leaked" | head -n 20
  exit 1
fi
echo "exports: $(nm -D --defined-only "$libdir/libedgert.so" | grep -c ' edgert_') C functions, only edgert_* and edgert::"

# The models and what `edgert run` makes of them.
models=(tiny_cnn:input=2,3,32,32 tiny_dynamic:input=1,3,40,24 mobilenetv2:)
for spec in "${models[@]}"; do
  name=${spec%%:*}
  shape=${spec#*:}
  mkdir -p "$work/$name/in" "$work/$name/out"
  "$edgert" zoo "$name" -o "$work/$name/model.onnx" >/dev/null
  "$edgert" run "$work/$name/model.onnx" ${shape:+--shape "$shape"} --save-inputs "$work/$name/in" \
    --output-dir "$work/$name/out" >/dev/null
done

# find_package(edgert)
cmake -S "$src/tests/capi/consumer" -B "$work/consumer" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/consumer" >/dev/null
for spec in "${models[@]}"; do
  name=${spec%%:*}
  for exe in consumer_c consumer_cpp consumer_cpp_static; do
    echo -n "$name, $exe (find_package): "
    "$work/consumer/$exe" "$work/$name/model.onnx" "$work/$name/in" "$work/$name/out" 3 | tail -n1
  done
done

# pkg-config
export PKG_CONFIG_PATH="$libdir/pkgconfig"
pkg-config --exists edgert
cc -std=c99 -Wall -Wextra -Werror "$src/tests/capi/consumer/consumer.c" $(pkg-config --cflags --libs edgert) \
  -lpthread -o "$work/pc_c"
c++ -std=c++20 -Wall -Wextra "$src/tests/capi/consumer/consumer.cpp" $(pkg-config --cflags --libs edgert) \
  -o "$work/pc_cpp"
for spec in "${models[@]}"; do
  name=${spec%%:*}
  for exe in pc_c pc_cpp; do
    echo -n "$name, $exe (pkg-config): "
    LD_LIBRARY_PATH="$libdir" "$work/$exe" "$work/$name/model.onnx" "$work/$name/in" "$work/$name/out" 3 | tail -n1
  done
done
echo "install test: ok"
