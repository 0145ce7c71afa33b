// edgert fold: fold BatchNormalization into neighbouring weights in an ONNX file, offline.
#include "edgert/onnx/fold.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common.h"
#include "edgert/error.h"

namespace edgert::tools {

namespace fs = std::filesystem;

namespace {

struct FoldArgs {
  std::string model, output, report;
  bool verify = false, dry_run = false, in_place = false;
  double rtol = 1e-4;
  int verify_runs = 3;
  InputFlags in;
};

std::string read_file(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) fail(ErrorCode::io, "cannot open '", path, "': no such file");
  if (fs::is_directory(path, ec)) fail(ErrorCode::io, "cannot open '", path, "': it is a directory");
  std::ifstream f(path, std::ios::binary);
  if (!f) fail(ErrorCode::io, "cannot open '", path, "'");
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

// Writes `bytes` to `path` through a temporary file in the same folder and a rename.
void write_atomically(const std::string& path, const std::string& bytes) {
  const fs::path target(path);
  const fs::path tmp = target.parent_path() / (".edgert-tmp-" + target.filename().string());
  std::error_code ec;
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f || !f.write(bytes.data(), static_cast<std::streamsize>(bytes.size())) || !f.flush()) {
      fs::remove(tmp, ec);
      fail(ErrorCode::io, "cannot write '", path, "'");
    }
  }
  fs::rename(tmp, target, ec);
  if (ec) {
    fs::remove(tmp, ec);
    fail(ErrorCode::io, "cannot write '", path, "': ", ec.message());
  }
}

// Runs both models on the same seeded inputs; returns whether every output agrees.
bool verify(const FoldArgs& a, const std::string& original, const std::string& folded, const std::string& base_dir) {
  ModelOptions o;
  o.fold_batchnorm = false;  // each model exactly as written
  auto load_bytes = [&](const std::string& bytes) {
    return Model::compile(onnx::import_memory(bytes.data(), bytes.size(), {}, base_dir).graph, o);
  };
  auto m0 = load_bytes(original), m1 = load_bytes(folded);
  Session s0(m0), s1(m1);
  bool ok = true;
  std::vector<double> worst_abs(m0->output_count(), 0.0), worst_rel(m0->output_count(), 0.0);
  for (int run = 0; run < a.verify_runs; ++run) {
    InputFlags in = a.in;
    in.seed = a.in.seed + static_cast<std::uint64_t>(run);
    in.feed(s0);
    for (std::size_t i = 0; i < m0->input_count(); ++i) s1.set_input(m0->input(i).name, s0.input(i));
    s0.run();
    s1.run();
    for (std::size_t i = 0; i < m0->output_count(); ++i) {
      const Tensor& want = s0.output(i);
      const Tensor& got = s1.output(m0->output(i).name);
      if (want.shape() != got.shape())
        fail(ErrorCode::internal, "output '", m0->output(i).name, "' changed shape from ", shape_str(want.shape()),
             " to ", shape_str(got.shape()));
      const auto x = tensor_to_doubles(want), y = tensor_to_doubles(got);
      double max_ref = 0, max_abs = 0;
      for (std::size_t k = 0; k < x.size(); ++k) {
        max_ref = std::max(max_ref, std::abs(x[k]));
        const double d = std::abs(x[k] - y[k]);
        if (d > max_abs || (std::isnan(d) && !(std::isnan(x[k]) && std::isnan(y[k]))))
          max_abs = std::isnan(d) ? INFINITY : d;
      }
      worst_abs[i] = std::max(worst_abs[i], max_abs);
      worst_rel[i] = std::max(worst_rel[i], max_ref > 0 ? max_abs / max_ref : max_abs);
    }
  }
  std::printf("verify: %d seeded random input set(s), each output's max |difference| and that over max |original|:\n",
              a.verify_runs);
  for (std::size_t i = 0; i < m0->output_count(); ++i) {
    const bool pass = worst_rel[i] <= a.rtol;
    ok &= pass;
    std::printf("  %-24s max abs %.3e  relative %.3e  %s\n", m0->output(i).name.c_str(), worst_abs[i], worst_rel[i],
                pass ? "ok" : "MISMATCH");
  }
  return ok;
}

int fold_main(const FoldArgs& a) {
  if (a.in_place && !a.output.empty()) fail(ErrorCode::invalid_argument, "give either -o FILE or --in-place, not both");
  if (!a.in_place && a.output.empty() && !a.dry_run)
    fail(ErrorCode::invalid_argument, "give the file to write with -o FILE.onnx (or --in-place, or --dry-run)");
  const std::string out_path = a.in_place ? a.model : a.output;
  std::error_code ec;
  if (!a.in_place && !out_path.empty() && fs::exists(out_path, ec) && fs::equivalent(out_path, a.model, ec))
    fail(ErrorCode::invalid_argument, "'", out_path, "' is the input model; pass --in-place to replace it");
  const std::string original = read_file(a.model);
  const std::string base_dir = fs::absolute(fs::path(a.model), ec).parent_path().string();
  onnx::FoldReport rep;
  std::string folded;
  try {
    folded = onnx::fold_model(original, base_dir, rep);
  } catch (const Error& e) {
    fail(e.code(), "'", a.model, "': ", e.what());
  }
  if (rep.external_data && !out_path.empty() &&
      fs::absolute(fs::path(out_path), ec).parent_path() != fs::path(base_dir))
    fail(ErrorCode::invalid_argument, "'", a.model,
         "' keeps weights in external data files: write the folded model into the same folder");

  std::printf("%s: %zu BatchNormalization, %zu folded, %zu kept\n", a.model.c_str(), rep.batchnorm.size(), rep.folded(),
              rep.batchnorm.size() - rep.folded());
  for (const PassRecord& r : rep.batchnorm)
    if (!r.folded) std::printf("  %-28s %s\n", r.node.c_str(), r.verdict.c_str());
  std::printf("%-24s %8s %8s\n", "", "before", "after");
  std::map<std::string, std::pair<int, int>> ops;
  for (const auto& [k, v] : rep.ops_before) ops[k].first = v;
  for (const auto& [k, v] : rep.ops_after) ops[k].second = v;
  for (const auto& [k, v] : ops)
    if (v.first != v.second) std::printf("%-24s %8d %8d\n", k.c_str(), v.first, v.second);
  std::printf("%-24s %8zu %8zu\n", "initializers", rep.initializers_before, rep.initializers_after);
  std::printf("%-24s %7.2fM %7.2fM\n", "file size (MiB)", static_cast<double>(rep.bytes_before) / (1 << 20),
              static_cast<double>(rep.bytes_after) / (1 << 20));

  if (!a.report.empty()) {
    nlohmann::json j;
    j["model"] = a.model;
    j["output"] = out_path;
    j["folded"] = rep.folded();
    j["kept"] = rep.batchnorm.size() - rep.folded();
    j["batchnorm"] = nlohmann::json::array();
    for (const PassRecord& r : rep.batchnorm) {
      nlohmann::json e = {{"node", r.node}, {"folded", r.folded}, {"verdict", r.verdict}};
      if (r.folded) e["into"] = r.into, e["weight"] = r.weight, e["bias"] = r.bias;
      j["batchnorm"].push_back(e);
    }
    j["ops_before"] = rep.ops_before;
    j["ops_after"] = rep.ops_after;
    j["bytes_before"] = rep.bytes_before;
    j["bytes_after"] = rep.bytes_after;
    write_atomically(a.report, j.dump(2) + "\n");
  }
  if (a.verify && !verify(a, original, folded, base_dir)) {
    std::fprintf(stderr, "edgert fold: error: the folded model's outputs differ from the original's beyond %g; %s\n",
                 a.rtol, out_path.empty() ? "" : "nothing was written");
    return kMismatch;
  }
  if (a.dry_run) {
    std::printf("dry run: nothing written\n");
    return kOk;
  }
  write_atomically(out_path, folded);
  std::printf("wrote %s\n", out_path.c_str());
  return kOk;
}

}  // namespace

void add_fold_command(CLI::App& app, int& status) {
  auto args = std::make_shared<FoldArgs>();
  CLI::App* sub = app.add_subcommand(
      "fold", "Fold BatchNormalization into neighbouring weights; the result loads in any ONNX runtime");
  sub->add_option("model", args->model, "ONNX model file")->required();
  sub->add_option("-o,--output", args->output, "Folded model to write (never the input, unless --in-place)");
  sub->add_flag("--in-place", args->in_place, "Replace the input model");
  sub->add_flag("--dry-run", args->dry_run, "Decide and report, but write no model");
  sub->add_option("--report", args->report,
                  "Write a JSON report: each BatchNormalization, folded into what or why not");
  sub->add_flag("--verify", args->verify, "Run original and folded models on seeded random inputs and compare");
  sub->add_option("--verify-runs", args->verify_runs, "Input sets --verify tries")
      ->default_val(3)
      ->check(CLI::Range(1, 1000));
  sub->add_option("--rtol", args->rtol, "Largest max|difference| / max|original| --verify accepts")->default_val(1e-4);
  args->in.add(*sub);
  sub->callback([args, &status] { status = guarded("fold", [&] { return fold_main(*args); }); });
}

}  // namespace edgert::tools
