// edgert inspect: what a model is made of, what edgert makes of it.
#include <algorithm>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "common.h"
#include "edgert/error.h"

namespace edgert::tools {

namespace {

struct InspectArgs {
  std::string model;
  bool json = false;
  ModelFlags flags;
};

std::string dims_str(const ValueInfo& v) {
  if (!v.has_shape) return "?";
  std::string s = "[";
  for (std::size_t i = 0; i < v.dims.size(); ++i) {
    if (i) s += ",";
    s += v.dims[i].value >= 0 ? std::to_string(v.dims[i].value) : (v.dims[i].param.empty() ? "?" : v.dims[i].param);
  }
  return s + "]";
}

int inspect(const InspectArgs& a) {
  onnx::Imported im = onnx::import_file(a.model, onnx::LoadLimits::from(a.flags.options()));
  const Graph& g = im.graph;
  std::map<std::string, int> histogram;
  for (const Node& n : g.nodes) ++histogram[n.domain.empty() ? n.op_type : n.domain + "." + n.op_type];
  std::int64_t params = 0;
  std::size_t weight_bytes = 0;
  for (const auto& [v, t] : g.constants) {
    if (dtype_is_float(t.dtype())) params += t.numel();
    weight_bytes += t.nbytes();
  }
  // Every node edgert cannot run, listed at once.
  std::vector<std::string> unsupported;
  for (const Node& n : g.nodes)
    if (!op_supported(n.domain, n.op_type))
      unsupported.push_back(cat("node '", n.name, "' ", n.op_type, " (domain '",
                                n.domain.empty() ? "ai.onnx" : n.domain, "', opset ", n.opset, ")"));
  std::vector<PassRecord> records;
  std::string compile_error;
  if (unsupported.empty()) {
    try {
      records = Model::compile(g, a.flags.options())->pass_records();
    } catch (const Error& e) {
      compile_error = e.what();
    }
  }
  const bool ok = unsupported.empty() && compile_error.empty();
  if (a.json) {
    nlohmann::json j;
    j["model"] = a.model;
    j["ir_version"] = im.info.ir_version;
    j["producer"] = im.info.producer_name + " " + im.info.producer_version;
    for (const auto& [d, v] : im.info.opset_imports) j["opsets"][d.empty() ? "ai.onnx" : d] = v;
    for (ValueId v : g.inputs)
      j["inputs"].push_back({{"name", g.values[v].name},
                             {"type", dtype_name(g.values[v].dtype)},
                             {"shape", dims_str(g.values[v])},
                             {"has_default", g.constants.count(v) > 0}});
    for (ValueId v : g.outputs)
      j["outputs"].push_back(
          {{"name", g.values[v].name}, {"type", dtype_name(g.values[v].dtype)}, {"shape", dims_str(g.values[v])}});
    j["nodes"] = g.nodes.size();
    j["constant_nodes_folded"] = im.info.constant_nodes;
    j["operators"] = histogram;
    j["parameters"] = params;
    j["weight_bytes"] = weight_bytes;
    j["unsupported"] = unsupported;
    if (!compile_error.empty()) j["error"] = compile_error;
    j["batchnorm"] = nlohmann::json::array();
    for (const PassRecord& r : records) j["batchnorm"].push_back({{"node", r.node}, {"verdict", r.verdict}});
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::printf("model:     %s\n", a.model.c_str());
    std::printf("producer:  %s %s\n", im.info.producer_name.c_str(), im.info.producer_version.c_str());
    std::printf("IR:        %lld\n", static_cast<long long>(im.info.ir_version));
    std::printf("opsets:   ");
    for (const auto& [d, v] : im.info.opset_imports)
      std::printf(" %s:%lld", d.empty() ? "ai.onnx" : d.c_str(), static_cast<long long>(v));
    std::printf("\ninputs:\n");
    for (ValueId v : g.inputs)
      std::printf("  %-24s %-8s %s%s\n", g.values[v].name.c_str(), dtype_name(g.values[v].dtype),
                  dims_str(g.values[v]).c_str(), g.constants.count(v) ? "  (initializer: default value)" : "");
    std::printf("outputs:\n");
    for (ValueId v : g.outputs)
      std::printf("  %-24s %-8s %s\n", g.values[v].name.c_str(), dtype_name(g.values[v].dtype),
                  dims_str(g.values[v]).c_str());
    std::printf("nodes:     %zu (%zu Constant nodes became constants)\n", g.nodes.size(), im.info.constant_nodes);
    std::printf("params:    %lld floating-point values, %.2f MiB of constants\n", static_cast<long long>(params),
                static_cast<double>(weight_bytes) / (1 << 20));
    std::vector<std::pair<std::string, int>> ops(histogram.begin(), histogram.end());
    std::sort(ops.begin(), ops.end(),
              [](auto& x, auto& y) { return x.second != y.second ? x.second > y.second : x.first < y.first; });
    std::printf("operators:\n");
    for (const auto& [op, count] : ops) std::printf("  %-28s %d\n", op.c_str(), count);
    std::printf("batchnorm: %zu\n", records.size());
    for (const PassRecord& r : records) std::printf("  %-28s %s\n", r.node.c_str(), r.verdict.c_str());
    if (!unsupported.empty()) {
      std::printf("unsupported by edgert (%zu):\n", unsupported.size());
      for (const auto& u : unsupported) std::printf("  %s\n", u.c_str());
    }
    if (!compile_error.empty()) std::printf("cannot run: %s\n", compile_error.c_str());
  }
  if (!unsupported.empty()) return kUnsupported;
  if (!compile_error.empty()) return kBadModel;
  return ok ? kOk : kFailure;
}

}  // namespace

void add_inspect_command(CLI::App& app, int& status) {
  auto args = std::make_shared<InspectArgs>();
  CLI::App* sub =
      app.add_subcommand("inspect", "Show a model's inputs, outputs, operators and BatchNormalization nodes");
  sub->add_option("model", args->model, "ONNX model file")->required();
  sub->add_flag("--json", args->json, "Print JSON");
  args->flags.add(*sub);
  sub->callback([args, &status] { status = guarded("inspect", [&] { return inspect(*args); }); });
}

}  // namespace edgert::tools
