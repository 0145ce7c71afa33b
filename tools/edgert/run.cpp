// edgert run: one inference, outputs summarised and optionally written as .npy.
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "common.h"
#include "edgert/error.h"
#include "npy.h"

namespace edgert::tools {

namespace fs = std::filesystem;

namespace {

struct RunArgs {
  std::string model;
  InputFlags in;
  std::string output_dir, save_inputs;
  ModelFlags flags;
};

std::string file_name_for(const std::string& output) {
  std::string s = output.empty() ? "output" : output;
  for (char& c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) c = '_';
  if (s[0] == '.') s[0] = '_';
  return s + ".npy";
}

// Writes tensors named by `names` as NAME.npy into `dir`: all under temporary names first,
// then renamed, so a failure leaves no partial set behind.
void write_all(const std::string& dir, const std::vector<std::string>& names,
               const std::vector<const Tensor*>& tensors) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) fail(ErrorCode::io, "cannot create folder '", dir, "': ", ec.message());
  std::vector<std::pair<fs::path, fs::path>> moves;
  try {
    for (std::size_t i = 0; i < names.size(); ++i) {
      const fs::path final_path = fs::path(dir) / file_name_for(names[i]);
      for (const auto& [tmp, fin] : moves)
        if (fin == final_path)
          fail(ErrorCode::invalid_argument, "'", names[i], "' and another name map to the same file");
      const fs::path tmp = final_path.string() + ".tmp";
      moves.emplace_back(tmp, final_path);
      write_npy(tmp.string(), *tensors[i]);
    }
  } catch (...) {
    for (const auto& [tmp, fin] : moves) fs::remove(tmp, ec);
    throw;
  }
  for (const auto& [tmp, fin] : moves) {
    fs::rename(tmp, fin, ec);
    if (ec) fail(ErrorCode::io, "cannot write '", fin.string(), "': ", ec.message());
    std::printf("wrote %s\n", fin.string().c_str());
  }
}

int run(const RunArgs& a) {
  Loaded l = load(a.model, a.flags);
  Session s(l.model);
  a.in.feed(s);
  const auto t0 = std::chrono::steady_clock::now();
  s.run();
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::printf("model %s: %zu nodes, opset %lld, isa %s, threads %d, batchnorm %s\n", a.model.c_str(),
              l.model->graph().nodes.size(), static_cast<long long>(l.info.opset), simd::isa_name(l.model->isa()),
              l.model->options().num_threads, batchnorm_summary(*l.model, a.flags.no_fold).c_str());
  std::printf("run: %.3f ms (first run, including planning)\n", ms);
  for (std::size_t i = 0; i < l.model->output_count(); ++i)
    std::printf("output %s: %s\n", l.model->output(i).name.c_str(), summarize(s.output(i)).c_str());
  if (!a.save_inputs.empty()) {
    std::vector<std::string> names;
    std::vector<const Tensor*> ts;
    for (std::size_t i = 0; i < l.model->input_count(); ++i) {
      names.push_back(l.model->input(i).name);
      ts.push_back(&s.input(i));
    }
    write_all(a.save_inputs, names, ts);
  }
  if (!a.output_dir.empty()) {
    std::vector<std::string> names;
    std::vector<const Tensor*> ts;
    for (std::size_t i = 0; i < l.model->output_count(); ++i) {
      names.push_back(l.model->output(i).name);
      ts.push_back(&s.output(i));
    }
    write_all(a.output_dir, names, ts);
  }
  return kOk;
}

}  // namespace

void add_run_command(CLI::App& app, int& status) {
  auto args = std::make_shared<RunArgs>();
  CLI::App* sub = app.add_subcommand("run", "Run a model once and print (or save) its outputs");
  sub->add_option("model", args->model, "ONNX model file")->required();
  args->in.add(*sub);
  sub->add_option("-o,--output-dir", args->output_dir, "Write each output as NAME.npy into this folder");
  sub->add_option("--save-inputs", args->save_inputs, "Also write the inputs used as NAME.npy into this folder");
  args->flags.add(*sub);
  sub->callback([args, &status] { status = guarded("run", [&] { return run(*args); }); });
}

}  // namespace edgert::tools
