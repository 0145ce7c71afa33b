#!/usr/bin/env bash
# Wide-ISA code must stay in its own translation units:
# - no object compiled with baseline flags contains ymm or zmm registers;
# - the AVX2 and AVX-512 objects define no weak (inline, mergeable) symbol that is not
#   templated on their xsimd arch, so the linker can never pick a wide copy of a helper
#   that baseline code also uses.
#   isa_leak.sh BUILD_DIR
set -u
build=$1
bad=0
while IFS= read -r obj; do
  case "$obj" in
    */isa/avx2.cpp.o | */isa/avx512.cpp.o | */googletest/* | */_deps/*) continue ;;
    # Two target("avx512f") / target("avx2,fma") loops picked by __builtin_cpu_supports,
    # nothing inline shared with baseline code: the measured FMA peak of bench_conv.
    */bench/CMakeFiles/*/peak_fma.cpp.o) continue ;;
  esac
  if objdump -d --no-show-raw-insn "$obj" 2>/dev/null | grep -qE '%[yz]mm[0-9]'; then
    echo "baseline object uses wide registers: $obj"
    bad=1
  fi
done < <(find "$build" -name '*.o' -path '*CMakeFiles*')
for isa in avx2:'fma3<xsimd::avx2>' avx512:'avx512f'; do
  name=${isa%%:*} arch=${isa#*:}
  obj=$(find "$build" -path "*isa/$name.cpp.o" | head -1)
  [ -n "$obj" ] || continue
  leaks=$(nm -C --defined-only "$obj" | awk '$2 ~ /^[WwVvu]$/' | grep -vF "$arch" | grep -v 'DW.ref.__gxx_personality' || true)
  if [ -n "$leaks" ]; then
    echo "weak symbols in $obj not templated on $arch:"
    echo "$leaks"
    bad=1
  fi
done
[ "$bad" -eq 0 ] && echo "isa leak check: ok"
exit "$bad"
