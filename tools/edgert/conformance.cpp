// edgert conformance: run the ONNX backend test suite (or any folder of its cases) and
// summarise pass / fail / unsupported per operator and per folder.
#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "common.h"
#include "edgert/simd/kernels.h"
#include "runner.h"

namespace edgert::tools {

namespace fs = std::filesystem;

namespace {

struct ConformanceArgs {
  std::string dir = "/usr/share/libonnx-testdata/data";
  std::string json;
  bool verbose = false;
  ModelFlags flags;
};

struct Tally {
  int pass = 0, fail = 0, unsupported = 0, skipped = 0;
  void add(conformance::Verdict v) {
    switch (v) {
      case conformance::Verdict::pass:
        ++pass;
        break;
      case conformance::Verdict::fail:
        ++fail;
        break;
      case conformance::Verdict::unsupported:
        ++unsupported;
        break;
      case conformance::Verdict::skipped:
        ++skipped;
        break;
    }
  }
};

nlohmann::json to_json(const Tally& t) {
  return {{"pass", t.pass}, {"fail", t.fail}, {"unsupported", t.unsupported}, {"skipped", t.skipped}};
}

int conformance_main(const ConformanceArgs& a) {
  std::error_code ec;
  if (!fs::exists(a.dir, ec))
    fail(ErrorCode::io, "'", a.dir, "' does not exist (Debian's libonnx-testdata installs the suite)");
  const auto cases = conformance::discover(a.dir);
  if (cases.empty()) fail(ErrorCode::invalid_argument, "no test cases (folders with model.onnx) under '", a.dir, "'");
  const ModelOptions opts = a.flags.options();
  std::map<std::string, Tally> by_op, by_folder;
  // Unsupported cases count against the operator they name (e.g. a type MaxPool lacks), or
  // against "(other)" when an operator edgert does not have, a sequence type etc. is at fault.
  std::map<std::string, Tally> own;
  Tally total;
  nlohmann::json failures = nlohmann::json::array();
  for (const std::string& dir : cases) {
    const conformance::CaseResult r = conformance::run_case(dir, opts);
    std::string folder = fs::relative(fs::path(dir).parent_path(), a.dir, ec).string();
    if (folder.empty() || folder == ".") folder = fs::path(a.dir).filename().string();
    by_folder[folder].add(r.verdict);
    total.add(r.verdict);
    for (const std::string& op : r.ops) by_op[op].add(r.verdict);
    if (r.verdict == conformance::Verdict::unsupported && !r.blame.empty()) own[r.blame].add(r.verdict);
    if (r.verdict == conformance::Verdict::fail) {
      std::printf("FAIL %s: %s\n", dir.c_str(), r.detail.c_str());
      failures.push_back({{"case", dir}, {"detail", r.detail}});
    } else if (a.verbose && r.verdict != conformance::Verdict::pass) {
      std::printf("%s %s: %s\n", conformance::verdict_name(r.verdict), dir.c_str(), r.detail.c_str());
    }
  }
  std::printf("\n%-28s %6s %6s %12s %16s\n", "operator (edgert implements)", "pass", "fail", "unsupported",
              "of which its own");
  for (const auto& [op, t] : by_op) {
    if (!op_supported("", op)) continue;
    const int mine = own.count(op) ? own.at(op).unsupported : 0;
    std::printf("%-28s %6d %6d %12d %16d\n", op.c_str(), t.pass, t.fail, t.unsupported, mine);
  }
  std::printf("\n%-28s %6s %6s %12s %8s\n", "folder", "pass", "fail", "unsupported", "skipped");
  for (const auto& [f, t] : by_folder)
    std::printf("%-28s %6d %6d %12d %8d\n", f.c_str(), t.pass, t.fail, t.unsupported, t.skipped);
  std::printf("%d passed, %d failed, %d unsupported, %d skipped (test-data issues)\n", total.pass, total.fail,
              total.unsupported, total.skipped);
  if (!a.json.empty()) {
    nlohmann::json j;
    j["dir"] = a.dir;
    j["isa"] = simd::isa_name(simd::kernels_up_to(opts.max_isa ? *opts.max_isa : simd::default_isa()).isa);
    j["fold_batchnorm"] = opts.fold_batchnorm;
    j["total"] = to_json(total);
    for (const auto& [f, t] : by_folder) j["folders"][f] = to_json(t);
    for (const auto& [op, t] : by_op) {
      nlohmann::json e = to_json(t);
      e["implemented"] = op_supported("", op);
      e["unsupported_own"] = own.count(op) ? own.at(op).unsupported : 0;
      j["operators"][op] = e;
    }
    j["failures"] = failures;
    std::FILE* f = std::fopen(a.json.c_str(), "w");
    if (!f) fail(ErrorCode::io, "cannot write '", a.json, "'");
    const std::string text = j.dump(2) + "\n";
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
  }
  return total.fail ? kMismatch : kOk;
}

}  // namespace

void add_conformance_command(CLI::App& app, int& status) {
  auto args = std::make_shared<ConformanceArgs>();
  CLI::App* sub = app.add_subcommand(
      "conformance", "Run ONNX backend test cases (model.onnx + test_data_set_*) and summarise per operator");
  sub->add_option("dir", args->dir, "Folder holding the cases")->default_val(args->dir);
  sub->add_option("--json", args->json, "Also write the summary as JSON");
  sub->add_flag("-v,--verbose", args->verbose, "List unsupported and skipped cases with the reason");
  args->flags.add(*sub);
  sub->callback([args, &status] { status = guarded("conformance", [&] { return conformance_main(*args); }); });
}

}  // namespace edgert::tools
