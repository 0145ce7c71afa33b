// edgert bench: load time, first run, then latency over repeated runs, peak memory and,
// with --profile, time per node and per operator type.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "common.h"
#include "edgert/error.h"

namespace edgert::tools {

namespace {

struct BenchArgs {
  std::string model;
  InputFlags in;
  int runs = 20, warmup = 3;
  bool profile = false, json = false;
  ModelFlags flags;
};

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  const double pos = p * static_cast<double>(v.size() - 1);
  const std::size_t lo = static_cast<std::size_t>(std::floor(pos)), hi = static_cast<std::size_t>(std::ceil(pos));
  return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

int bench(const BenchArgs& a) {
  using clock = std::chrono::steady_clock;
  Loaded l = load(a.model, a.flags);
  const double rss_load = peak_rss_mb();
  Session s(l.model);
  a.in.feed(s);
  auto t0 = clock::now();
  s.run();
  const double first_ms = std::chrono::duration<double, std::milli>(clock::now() - t0).count();
  for (int i = 0; i < a.warmup; ++i) s.run();
  std::vector<double> ms;
  std::map<std::string, double> type_ms;
  std::map<std::string, std::vector<double>> node_runs;  // every run's time of each node
  std::map<std::string, std::string> node_type;
  std::map<std::string, std::size_t> node_index;  // position in the execution order
  s.set_profiling(a.profile);
  for (int i = 0; i < a.runs; ++i) {
    t0 = clock::now();
    s.run();
    ms.push_back(std::chrono::duration<double, std::milli>(clock::now() - t0).count());
    if (a.profile)
      for (const NodeProfile& p : s.profile()) {
        node_index.emplace(p.name, node_index.size());
        node_runs[p.name].push_back(p.ms);
        type_ms[p.op_type] += p.ms / a.runs;
        node_type[p.name] = p.op_type;
      }
  }
  const double rss_peak = peak_rss_mb();
  std::map<std::string, double> node_ms;  // mean per run
  for (const auto& [n, runs] : node_runs) {
    for (double v : runs) node_ms[n] += v;
    node_ms[n] /= a.runs;
  }
  double mean = 0;
  for (double v : ms) mean += v;
  mean /= static_cast<double>(ms.size());
  const double mn = *std::min_element(ms.begin(), ms.end()), mx = *std::max_element(ms.begin(), ms.end());
  const double med = percentile(ms, 0.5), p90 = percentile(ms, 0.9);
  double total_prof = 0;
  for (const auto& [k, v] : type_ms) total_prof += v;
  auto sorted = [](const std::map<std::string, double>& m) {
    std::vector<std::pair<std::string, double>> v(m.begin(), m.end());
    std::sort(v.begin(), v.end(), [](auto& x, auto& y) { return x.second > y.second; });
    return v;
  };
  if (a.json) {
    nlohmann::json j;
    j["model"] = a.model;
    j["isa"] = simd::isa_name(l.model->isa());
    j["threads"] = l.model->options().num_threads;
    j["fold_batchnorm"] = !a.flags.no_fold;
    j["load_ms"] = {{"import", l.import_ms}, {"compile", l.compile_ms}};
    j["first_run_ms"] = first_ms;
    j["runs"] = a.runs;
    j["warmup"] = a.warmup;
    j["latency_ms"] = {{"min", mn}, {"median", med}, {"p90", p90}, {"mean", mean}, {"max", mx}};
    j["peak_rss_mb"] = {{"after_load", rss_load}, {"overall", rss_peak}};
    j["arena_mb"] = static_cast<double>(s.arena_bytes()) / (1 << 20);
    if (a.profile) {
      for (const auto& [t, v] : sorted(type_ms))
        j["profile"]["by_type"].push_back({{"op", t}, {"ms", v}, {"share", v / total_prof}});
      // A node's constant weight (input 1), by which bench/ort/layers.mjs pairs the nodes
      // of two runtimes that fuse differently.
      const Graph& g = l.model->graph();
      std::map<std::string, const Node*> by_name;
      for (const Node& n : g.nodes) by_name.emplace(n.name, &n);
      for (const auto& [n, v] : sorted(node_ms)) {
        // The median and minimum beside the mean: on a shared machine a few slow runs move
        // a node's mean, and bench/ort/layers.mjs compares medians.
        const std::vector<double>& runs = node_runs[n];
        nlohmann::json e = {{"node", n},
                            {"op", node_type[n]},
                            {"index", node_index[n]},
                            {"ms", v},
                            {"median_ms", percentile(runs, 0.5)},
                            {"min_ms", *std::min_element(runs.begin(), runs.end())},
                            {"share", v / total_prof}};
        const auto it = by_name.find(n);
        if (it != by_name.end() && it->second->inputs.size() > 1 && g.is_constant(it->second->inputs[1]))
          e["weight"] = g.constant(it->second->inputs[1])->shape();
        j["profile"]["by_node"].push_back(e);
      }
    }
    std::printf("%s\n", j.dump(2).c_str());
    return kOk;
  }
  std::printf("model:       %s\n", a.model.c_str());
  std::printf("config:      isa %s, threads %d, batchnorm %s\n", simd::isa_name(l.model->isa()),
              l.model->options().num_threads, batchnorm_summary(*l.model, a.flags.no_fold).c_str());
  std::printf("load:        %.2f ms (import %.2f, compile %.2f)\n", l.import_ms + l.compile_ms, l.import_ms,
              l.compile_ms);
  std::printf("first run:   %.3f ms (includes memory planning)\n", first_ms);
  std::printf("latency:     Session::run only, inputs set once; %d runs after %d warm-up\n", a.runs, a.warmup);
  std::printf("             min %.3f  median %.3f  p90 %.3f  mean %.3f  max %.3f ms\n", mn, med, p90, mean, mx);
  std::printf("memory:      peak RSS %.1f MiB after load, %.1f MiB overall; activation arena %.1f MiB\n", rss_load,
              rss_peak, static_cast<double>(s.arena_bytes()) / (1 << 20));
  if (a.profile) {
    std::printf("\nby operator type (mean per run):\n");
    for (const auto& [t, v] : sorted(type_ms))
      std::printf("  %-24s %9.3f ms  %5.1f%%\n", t.c_str(), v, 100 * v / total_prof);
    std::printf("\nby node (mean per run):\n");
    for (const auto& [n, v] : sorted(node_ms))
      std::printf("  %-32s %-20s %9.3f ms  %5.1f%%\n", n.c_str(), node_type[n].c_str(), v, 100 * v / total_prof);
  }
  return kOk;
}

}  // namespace

void add_bench_command(CLI::App& app, int& status) {
  auto args = std::make_shared<BenchArgs>();
  CLI::App* sub = app.add_subcommand("bench", "Time a model: load, first run, latency statistics, peak memory");
  sub->add_option("model", args->model, "ONNX model file")->required();
  args->in.add(*sub);
  sub->add_option("-r,--runs", args->runs, "Timed runs")->default_val(20)->check(CLI::Range(1, 1000000));
  sub->add_option("-w,--warmup", args->warmup, "Untimed runs first")->default_val(3)->check(CLI::Range(0, 1000000));
  sub->add_flag("--profile", args->profile, "Time every node; print per-node and per-operator totals");
  sub->add_flag("--json", args->json, "Print JSON");
  args->flags.add(*sub);
  sub->callback([args, &status] { status = guarded("bench", [&] { return bench(*args); }); });
}

}  // namespace edgert::tools
