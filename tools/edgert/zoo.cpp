// edgert zoo: list the built-in reference models, or write one to a file.
#include "zoo.h"

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "common.h"
#include "edgert/error.h"

namespace edgert::tools {

namespace fs = std::filesystem;

namespace {

struct ZooArgs {
  std::string name, output;
  std::uint64_t seed = 0;
  bool force = false;
};

int zoo_main(const ZooArgs& a) {
  if (a.name.empty() || a.name == "list") {
    for (const auto& e : zoo::list()) std::printf("%-14s %s\n", e.name.c_str(), e.description.c_str());
    return kOk;
  }
  if (a.output.empty()) fail(ErrorCode::invalid_argument, "give the file to write with -o FILE.onnx");
  const ::onnx::ModelProto m = zoo::build(a.name, a.seed);
  std::error_code ec;
  if (fs::exists(a.output, ec) && !a.force)
    fail(ErrorCode::invalid_argument, "'", a.output, "' exists; pass --force to replace it");
  const std::string tmp = a.output + ".tmp-edgert";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out || !m.SerializeToOstream(&out)) {
      fs::remove(tmp, ec);
      fail(ErrorCode::io, "cannot write '", a.output, "'");
    }
  }
  fs::rename(tmp, a.output, ec);
  if (ec) {
    fs::remove(tmp, ec);
    fail(ErrorCode::io, "cannot write '", a.output, "'");
  }
  std::printf("wrote %s (%s, %.1f MiB)\n", a.output.c_str(), a.name.c_str(),
              static_cast<double>(fs::file_size(a.output, ec)) / (1 << 20));
  return kOk;
}

}  // namespace

void add_zoo_command(CLI::App& app, int& status) {
  auto args = std::make_shared<ZooArgs>();
  CLI::App* sub =
      app.add_subcommand("zoo", "Write a built-in reference model: 'edgert zoo list', 'edgert zoo NAME -o FILE'");
  sub->add_option("name", args->name, "Model name, or 'list'");
  sub->add_option("-o,--output", args->output, "ONNX file to write");
  sub->add_option("--seed", args->seed, "Seed for the weights")->default_val(0);
  sub->add_flag("-f,--force", args->force, "Replace the output file if it exists");
  sub->callback([args, &status] { status = guarded("zoo", [&] { return zoo_main(*args); }); });
}

}  // namespace edgert::tools
