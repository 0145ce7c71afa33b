// Shared pieces of the edgert subcommands.
#pragma once

#include <CLI/CLI.hpp>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "edgert/error.h"
#include "edgert/onnx/import.h"
#include "edgert/session.h"

namespace edgert::tools {

/// Exit statuses of the edgert program.
enum Exit : int {
  kOk = 0,
  kFailure = 1,      ///< anything else, including internal errors
  kUsage = 2,        ///< bad command line
  kIo = 3,           ///< a file could not be read or written
  kBadModel = 4,     ///< malformed model or input file
  kUnsupported = 5,  ///< the model uses something edgert does not implement
  kShape = 6,        ///< shapes or types disagree
  kMemory = 7,       ///< over a memory limit
  kMismatch = 8,     ///< a numeric check failed
};

int exit_code(ErrorCode code);

/// Options every model-running subcommand shares.
struct ModelFlags {
  int threads = 1;
  bool no_fold = false;
  std::string isa;
  std::size_t max_tensor_mb = 4096;
  void add(CLI::App& app);
  ModelOptions options() const;
};

/// Where a subcommand's inputs come from: --input files, --shape dims, --seed.
struct InputFlags {
  std::vector<std::string> inputs, shapes;
  std::uint64_t seed = 1;
  void add(CLI::App& app);
  /// Sets every input of `s` (see feed_inputs).
  void feed(Session& s) const;
};

struct Loaded {
  onnx::ModelInfo info;
  std::shared_ptr<const Model> model;
  double import_ms = 0, compile_ms = 0;
};

Loaded load(const std::string& path, const ModelFlags& flags);

/// Parses "NAME=1,3,224,224" (or x separators).
std::pair<std::string, Shape> parse_shape_arg(const std::string& arg);
/// Parses "NAME=FILE".
std::pair<std::string, std::string> parse_input_arg(const std::string& arg);

/// Fills every model input: from files (.npy or TensorProto .pb) named in `files`, else
/// seeded random data of the declared shape, free dims from `shapes` or 1.
void feed_inputs(Session& s, const std::map<std::string, std::string>& files,
                 const std::map<std::string, Shape>& shapes, std::uint64_t seed);

/// "float32 [1,1000] min -3.1 max 4.2 mean 0.01".
std::string summarize(const Tensor& t);

/// "3 standalone" / "52 folded, 1 standalone (--no-fold)": what the load-time passes did.
std::string batchnorm_summary(const Model& m, bool no_fold);

/// Peak resident set size of this process so far, in MiB.
double peak_rss_mb();

void add_run_command(CLI::App& app, int& status);
void add_inspect_command(CLI::App& app, int& status);
void add_bench_command(CLI::App& app, int& status);
void add_zoo_command(CLI::App& app, int& status);
void add_fold_command(CLI::App& app, int& status);
void add_conformance_command(CLI::App& app, int& status);

/// Runs `body`, turning an edgert::Error into a message on stderr and an exit status.
template <class F>
int guarded(const char* command, F&& body) {
  try {
    return body();
  } catch (const Error& e) {
    fprintf(stderr, "edgert %s: error: %s\n", command, e.what());
    return exit_code(e.code());
  } catch (const std::exception& e) {
    fprintf(stderr, "edgert %s: error: %s\n", command, e.what());
    return kFailure;
  }
}

}  // namespace edgert::tools
