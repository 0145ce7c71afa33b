// edgert: run, inspect and benchmark ONNX models; write the built-in reference models.
#include <cstdio>

#include "common.h"
#include "edgert/simd/kernels.h"
#include "edgert_commit.h"  // generated at every build: EDGERT_GIT_COMMIT

namespace {

std::string version_text() {
  using namespace edgert::simd;
  std::string cpu;
  for (Isa isa : {Isa::sse2, Isa::avx2, Isa::avx512, Isa::neon})
    if (isa_supported(isa)) cpu += std::string(cpu.empty() ? "" : " ") + isa_name(isa);
  // It moves the Winograd / direct choice for narrow 3x3s (Winograd23::yields_to_shifted).
  if (fma512_half_rate()) cpu += " (512-bit FMA at half rate)";
  return edgert::cat("edgert ", edgert::version(), " (commit ", EDGERT_GIT_COMMIT, ", ", __VERSION__, ")\n",
                     "cpu:     ", cpu.empty() ? "no SIMD" : cpu, "\n", "kernels: ", isa_name(kernels().isa),
                     " (set EDGERT_MAX_ISA=scalar|sse2|avx2|avx512 to cap)");
}

}  // namespace

int main(int argc, char** argv) {
  using namespace edgert::tools;
  CLI::App app{"edgert: an inference runtime for CNNs on edge CPUs"};
  app.set_version_flag("--version", version_text());
  app.require_subcommand(1);
  int status = kOk;
  add_run_command(app, status);
  add_bench_command(app, status);
  add_inspect_command(app, status);
  add_fold_command(app, status);
  add_zoo_command(app, status);
  add_conformance_command(app, status);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kUsage;
  }
  return status;
}
