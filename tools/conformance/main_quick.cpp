#include <cstdio>
#include "runner.h"
int main(int argc, char** argv) {
  using namespace edgert::conformance;
  int p = 0, f = 0, u = 0;
  for (const auto& d : discover(argv[1])) {
    auto r = run_case(d, {});
    if (r.verdict == Verdict::pass) ++p;
    else if (r.verdict == Verdict::fail) { ++f; std::printf("FAIL %s: %s\n", r.name.c_str(), r.detail.c_str()); }
    else { ++u; if (argc > 2) std::printf("UNSUP %s: %s\n", r.name.c_str(), r.detail.c_str()); }
  }
  std::printf("%d passed, %d failed, %d unsupported\n", p, f, u);
}
