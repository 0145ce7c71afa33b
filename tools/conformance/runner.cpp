#include "runner.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>

#include "edgert/error.h"
#include "edgert/onnx/import.h"

namespace edgert::conformance {

namespace fs = std::filesystem;

const char* verdict_name(Verdict v) {
  switch (v) {
    case Verdict::pass:
      return "pass";
    case Verdict::fail:
      return "fail";
    case Verdict::unsupported:
      return "unsupported";
    case Verdict::skipped:
      return "skipped";
  }
  return "?";
}

std::string known_data_issue(const std::string& dir) {
  static const std::map<std::string, std::string> issues = {
      {"node/test_cast_FLOAT_to_BFLOAT16",
       "ONNX 1.12's reference truncates float to bfloat16; edgert rounds to nearest even as ONNX >= 1.14 and ORT do"},
      {"node/test_castlike_BFLOAT16_to_FLOAT", "the stored 'like' input has shape [1] but the model declares [3,4]"},
      {"node/test_castlike_BFLOAT16_to_FLOAT_expanded",
       "the stored 'like' input has shape [1] but the model declares [3,4]"},
      {"node/test_castlike_FLOAT_to_BFLOAT16", "the stored 'like' input has shape [1] but the model declares [3,4]"},
      {"node/test_castlike_FLOAT_to_BFLOAT16_expanded",
       "the stored 'like' input has shape [1] but the model declares [3,4]"},
  };
  const fs::path p(dir);
  auto it = issues.find(p.parent_path().filename().string() + "/" + p.filename().string());
  return it == issues.end() ? "" : it->second;
}

std::vector<std::string> discover(const std::string& root) {
  std::vector<std::string> out;
  std::error_code ec;
  if (fs::exists(fs::path(root) / "model.onnx", ec)) return {root};
  for (auto it = fs::recursive_directory_iterator(root, ec); it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (ec) break;
    if (it->is_regular_file() && it->path().filename() == "model.onnx")
      out.push_back(it->path().parent_path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string compare(const Tensor& want, const Tensor& got, const Tolerance& tol) {
  if (want.shape() != got.shape())
    return cat("shape ", shape_str(got.shape()), " instead of ", shape_str(want.shape()));
  if (want.dtype() != got.dtype())
    return cat("type ", dtype_name(got.dtype()), " instead of ", dtype_name(want.dtype()));
  const std::vector<double> a = tensor_to_doubles(want), b = tensor_to_doubles(got);
  double worst = 0;
  std::size_t at = 0;
  bool bad = false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i]) && std::isnan(b[i])) continue;
    if (a[i] == b[i]) continue;
    const double err = std::abs(a[i] - b[i]);
    const double allowed = tol.atol + tol.rtol * std::abs(a[i]);
    if (!(err <= allowed)) {
      const double excess = std::isnan(err) ? 1e300 : err - allowed;
      if (!bad || excess > worst) worst = excess, at = i;
      bad = true;
    }
  }
  if (!bad) return "";
  return cat("element ", at, ": got ", b[at], ", expected ", a[at]);
}

CaseResult run_case(const std::string& dir, const ModelOptions& options, const Tolerance& tol) {
  CaseResult r;
  r.path = dir;
  r.name = fs::path(dir).filename().string();
  if (const std::string why = known_data_issue(dir); !why.empty()) {
    r.verdict = Verdict::skipped;
    r.detail = why;
    return r;
  }
  try {
    onnx::Imported im = onnx::import_file((fs::path(dir) / "model.onnx").string());
    for (const Node& n : im.graph.nodes)
      if (std::find(r.ops.begin(), r.ops.end(), n.op_type) == r.ops.end()) r.ops.push_back(n.op_type);
    auto model = Model::compile(std::move(im.graph), options);
    std::vector<fs::path> sets;
    for (const auto& e : fs::directory_iterator(dir))
      if (e.is_directory() && e.path().filename().string().rfind("test_data_set_", 0) == 0) sets.push_back(e.path());
    std::sort(sets.begin(), sets.end());
    Session s(model);
    for (const fs::path& set : sets) {
      for (std::size_t i = 0; i < model->input_count(); ++i) {
        const fs::path f = set / cat("input_", i, ".pb");
        if (!fs::exists(f)) continue;  // optional trailing inputs keep their defaults
        Tensor t = onnx::read_tensor_file(f.string());
        // The suite stores bfloat16 data as uint16 (numpy has no bfloat16): same bits.
        if (t.dtype() == DataType::uint16 && model->input(i).dtype == DataType::bfloat16)
          t.set_dtype(DataType::bfloat16);
        s.set_input(i, t);
      }
      s.run();
      for (std::size_t i = 0; i < model->output_count(); ++i) {
        const fs::path f = set / cat("output_", i, ".pb");
        if (!fs::exists(f)) continue;
        Tensor want = onnx::read_tensor_file(f.string());
        if (want.dtype() == DataType::uint16 && s.output(i).dtype() == DataType::bfloat16)
          want.set_dtype(DataType::bfloat16);
        const std::string diff = compare(want, s.output(i), tol);
        if (!diff.empty()) {
          r.verdict = Verdict::fail;
          r.detail = cat(set.filename().string(), " output ", i, " '", model->output(i).name, "': ", diff);
          return r;
        }
      }
    }
  } catch (const Error& e) {
    r.verdict = e.code() == ErrorCode::unsupported ? Verdict::unsupported : Verdict::fail;
    r.detail = e.what();
    // The operator at fault: "unsupported operator 'X'" or "node 'n' (X): ...".
    const std::string& d = r.detail;
    if (auto p = d.find("unsupported operator '"); p != std::string::npos) {
      r.blame = d.substr(p + 22, d.find('\'', p + 22) - p - 22);
    } else if (auto q = d.find("' ("); q != std::string::npos && d.find("node '") != std::string::npos) {
      r.blame = d.substr(q + 3, d.find(')', q) - q - 3);
    }
  } catch (const std::exception& e) {
    r.verdict = Verdict::fail;
    r.detail = cat("exception: ", e.what());
  }
  return r;
}

}  // namespace edgert::conformance
