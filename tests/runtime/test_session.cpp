// Sessions: planning, dynamic shapes, data-dependent shapes, threads, and bad input.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>

#include "exec/memory_plan.h"
#include "ops/gemm_driver.h"
#include "test_util.h"

namespace edgert::test {
namespace {

TEST(MemoryPlan, LiveBuffersNeverOverlapAndDeadOnesAreReused) {
  std::vector<PlannedBuffer> b = {{1000, 0, 1, 0}, {500, 1, 2, 0}, {1000, 2, 3, 0}, {64, 0, 3, 0}, {700, 3, 4, 0}};
  const std::size_t arena = plan_memory(b);
  for (std::size_t i = 0; i < b.size(); ++i) {
    EXPECT_EQ(b[i].offset % 64, 0u);
    EXPECT_LE(b[i].offset + b[i].size, arena);
    for (std::size_t j = i + 1; j < b.size(); ++j) {
      const bool live_together = b[i].first <= b[j].last && b[j].first <= b[i].last;
      const bool overlap = b[i].offset < b[j].offset + b[j].size && b[j].offset < b[i].offset + b[i].size;
      EXPECT_FALSE(live_together && overlap) << i << " and " << j;
    }
  }
  std::size_t sum = 0;
  for (const auto& x : b) sum += (x.size + 63) / 64 * 64;
  EXPECT_LT(arena, sum);
}

TEST(PackedArena, MidSizeWeightsShareABlockOneAfterAnotherAndOutliveTheArena) {
  if (!PackedArena::kEnabled) GTEST_SKIP() << "off under AddressSanitizer";
  auto at = [](const std::shared_ptr<float>& p) { return reinterpret_cast<std::uintptr_t>(p.get()); };
  std::shared_ptr<float> a, b, small, large, after;
  {
    PackedArena arena;
    const PackedArena::Use use(arena);
    a = alloc_packed(4096);  // 16 KiB: the smallest the arena takes
    b = alloc_packed(5001);  // rounded up to whole 64 bytes
    small = alloc_packed(4095);
    large = alloc_packed(std::size_t{512} << 10);  // 2 MiB: a block of its own
    after = alloc_packed(4096);
    {
      PackedArena other;
      const PackedArena::Use nested(other);
      EXPECT_NE(at(alloc_packed(4096)), at(after) + 16384);  // the inner arena's, not the outer one's
    }
    EXPECT_EQ(at(alloc_packed(4096)), at(after) + 16384);  // the outer arena again
  }
  EXPECT_EQ(at(b), at(a) + 16384);
  EXPECT_EQ(at(after), at(b) + 20032);  // 5001 floats = 20004 bytes, rounded to 20032
  for (const auto* p : {&a, &b, &small, &large, &after}) EXPECT_EQ(at(*p) % 64, 0u);
  EXPECT_TRUE(at(small) < at(a) || at(small) >= at(after) + 16384);
  EXPECT_TRUE(at(large) < at(a) || at(large) >= at(after) + 16384);
  // The arena is gone; the block lives while a weight in it does (ASan checks the reads).
  a.reset();
  for (std::size_t i = 0; i < 5001; ++i) b.get()[i] = static_cast<float>(i);
  for (std::size_t i = 0; i < 4096; ++i) after.get()[i] = 1.0f;
  double sum = 0;
  for (std::size_t i = 0; i < 5001; ++i) sum += b.get()[i];
  EXPECT_EQ(sum, 5000.0 * 5001.0 / 2);
  // Without an arena in use, each weight is a block of its own.
  EXPECT_NE(at(alloc_packed(4096)), at(after) + 16384);
}

TEST(PackedArena, ThreadsTakingAtOnceGetDisjointRangesAcrossBlocks) {
  if (!PackedArena::kEnabled) GTEST_SKIP() << "off under AddressSanitizer";
  PackedArena arena;
  constexpr int kThreads = 4, kEach = 300;  // 4 x 300 x 32 KiB: more than one 32 MiB block
  std::vector<std::vector<std::shared_ptr<float>>> got(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) got[t].push_back(arena.take(8192));
    });
  for (auto& th : threads) th.join();
  std::vector<std::uintptr_t> starts;
  for (const auto& v : got)
    for (const auto& p : v) {
      ASSERT_NE(p, nullptr);
      starts.push_back(reinterpret_cast<std::uintptr_t>(p.get()));
    }
  std::sort(starts.begin(), starts.end());
  for (std::size_t i = 1; i < starts.size(); ++i) EXPECT_GE(starts[i] - starts[i - 1], 32768u);
  EXPECT_EQ(arena.take(4095), nullptr);
  EXPECT_EQ(arena.take(std::size_t{512} << 10), nullptr);
}

TEST(MemoryPlan, JoinedInputsShareTheirOutputsBufferWhereNoByteHasTwoWriters) {
  constexpr std::size_t no = SIZE_MAX;
  // A dense block: C1 = [x0 y1], C2 = [x0 y1 y2], C3 = [x0 y1 y2 y3], then
  // C4 = [a b] and C5 = [a d] (d's slot is b's bytes: C5 keeps its own buffer),
  // C6 = [e e] (the second e is copied), C7 = [f h] (h's slot at 12 bytes is not aligned),
  // C8 = [constant h2], C9 = [f h k] (h copied where C7 copied it, k not aligned either).
  std::vector<PlannedBuffer> b = {
      {256, 0, 8, 0}, {128, 1, 2, 0}, {384, 2, 3, 0}, {128, 3, 4, 0}, {512, 4, 5, 0}, {64, 5, 6, 0},  {576, 6, 9, 0},
      {128, 0, 5, 0}, {128, 1, 2, 0}, {256, 2, 3, 0}, {128, 3, 4, 0}, {256, 4, 5, 0}, {128, 0, 1, 0}, {256, 1, 2, 0},
      {12, 0, 1, 0},  {64, 0, 1, 0},  {76, 1, 2, 0},  {128, 1, 2, 0}, {64, 0, 1, 0},  {64, 1, 3, 0},  {140, 2, 3, 0}};
  const std::vector<Join> joins = {
      {2, {0, 1}, {0, 256}},   {4, {0, 1, 3}, {0, 256, 384}}, {6, {0, 1, 3, 5}, {0, 256, 384, 512}},
      {9, {7, 8}, {0, 128}},   {11, {7, 10}, {0, 128}},       {13, {12, 12}, {0, 128}},
      {16, {14, 15}, {0, 12}}, {17, {no, 18}, {0, 64}},       {20, {14, 15, 19}, {0, 12, 76}}};
  const JoinPlan p = plan_joins(b, joins);
  ASSERT_EQ(p.spans.size(), 5u);
  const std::vector<std::size_t> dense = {0, 1, 2, 3, 4, 5, 6}, at = {0, 256, 0, 384, 0, 512, 0};
  for (std::size_t i = 0; i < dense.size(); ++i) {
    EXPECT_EQ(p.group[dense[i]], p.group[0]) << i;
    EXPECT_EQ(p.at[dense[i]], at[i]) << i;
  }
  const PlannedBuffer& block = p.spans[p.group[0]];
  EXPECT_EQ(block.size, 576u);
  EXPECT_EQ(block.first, 0u);
  EXPECT_EQ(block.last, 9u);
  EXPECT_EQ(p.group[9], p.group[7]);
  EXPECT_EQ(p.group[8], p.group[7]);
  EXPECT_EQ(p.at[8], 128u);
  EXPECT_EQ(p.group[10], no);
  EXPECT_EQ(p.group[11], no);
  EXPECT_EQ(p.group[12], p.group[13]);
  EXPECT_EQ(p.spans[p.group[13]].size, 256u);
  EXPECT_EQ(p.group[14], p.group[16]);
  EXPECT_EQ(p.group[15], no);
  EXPECT_EQ(p.group[18], p.group[17]);
  EXPECT_EQ(p.at[18], 64u);
  EXPECT_EQ(p.at[17], 0u);
  EXPECT_NE(p.group[17], no);
  EXPECT_EQ(p.group[20], p.group[14]);
  EXPECT_EQ(p.at[20], 0u);
  EXPECT_EQ(p.group[19], no);
  EXPECT_EQ(p.spans[p.group[20]].size, 140u);
  EXPECT_EQ(p.spans[p.group[20]].last, 3u);
}

Graph chain(int n) {
  Graph g;
  g.add_input("x", DataType::float32, std::vector<Dim>{{-1, "N"}, {8, ""}});
  std::string prev = "x";
  for (int i = 0; i < n; ++i) {
    const std::string out = cat("t", i);
    g.add_node(i % 2 ? "Relu" : "Neg", {prev}, {out});
    prev = out;
  }
  g.add_output(prev);
  return g;
}

TEST(Session, ArenaIsSmallerThanAllIntermediatesAndReplansOnNewShapes) {
  auto m = Model::compile(chain(10));
  Session s(m);
  s.set_input("x", random({4, 8}, 1));
  s.run();
  EXPECT_EQ(s.output(0).shape(), (Shape{4, 8}));
  // Ten intermediates of 128 bytes each; a chain needs two live at a time.
  EXPECT_LE(s.arena_bytes(), 3u * 128);
  const Tensor big = random({33, 8}, 2);
  s.set_input("x", big);
  s.run();
  ASSERT_EQ(s.output(0).shape(), (Shape{33, 8}));
  for (std::int64_t i = 0; i < big.numel(); ++i) {
    float v = big.data<float>()[i];
    for (int k = 0; k < 10; ++k) v = k % 2 ? std::max(0.0f, v) : -v;
    EXPECT_EQ(s.output(0).data<float>()[i], v);
  }
}

TEST(Session, ElementwiseChainsRunInPlace) {
  // x -> Neg -> Relu -> ... : each output may reuse its dying input, so one buffer serves
  // the whole chain; a value read twice (by the Add) keeps its own.
  auto m = Model::compile(chain(10));
  Session s(m);
  s.set_input("x", random({4, 8}, 1));
  s.run();
  EXPECT_EQ(s.arena_bytes(), 128u);
  Graph g;
  g.add_input("x", DataType::float32, std::vector<std::int64_t>{16});
  g.add_node("Neg", {"x"}, {"a"});
  g.add_node("Relu", {"a"}, {"b"});
  g.add_node("Add", {"a", "b"}, {"c"});
  g.add_output("c");
  Session t(Model::compile(g));
  const Tensor x = random({16}, 2);
  t.set_input("x", x);
  t.run();
  for (int i = 0; i < 16; ++i)
    EXPECT_EQ(t.output(0).data<float>()[i], -x.data<float>()[i] + std::max(0.0f, -x.data<float>()[i]));
}

TEST(Session, DataDependentShapesFallBackToPerRunPlanning) {
  Graph g;
  g.add_input("x", DataType::float32, std::vector<std::int64_t>{2, 6});
  g.add_input("shape", DataType::int64, std::vector<std::int64_t>{2});
  g.add_node("Relu", {"x"}, {"r"});
  g.add_node("Reshape", {"r", "shape"}, {"y"});
  g.add_node("Neg", {"y"}, {"z"});
  g.add_output("z");
  Session s(Model::compile(g));
  s.set_input("x", random({2, 6}, 3));
  s.set_input("shape", make_i64({2}, {3, 4}));
  s.run();
  EXPECT_EQ(s.output(0).shape(), (Shape{3, 4}));
  s.set_input("shape", make_i64({2}, {12, -1}));
  s.run();
  EXPECT_EQ(s.output(0).shape(), (Shape{12, 1}));
}

// Output 0 of g run on input x with a model compiled for `threads` threads.
std::vector<float> run_threads(const Graph& g, const Tensor& x, int threads) {
  ModelOptions o;
  o.num_threads = threads;
  Session s(Model::compile(g, o));
  s.set_input("x", x);
  s.run();
  return values(s.output(0));
}

TEST(Session, OutputsAreIdenticalForEveryThreadCountAndIsa) {
  Graph g;
  g.add_input("x", DataType::float32, std::vector<std::int64_t>{2, 16, 20, 20});
  g.add_constant("w", random({32, 16, 3, 3}, 4));
  g.add_constant("w2", random({32, 1, 3, 3}, 5));
  g.add_node("Conv", {"x", "w"}, {"c"}, {{"pads", Attribute::of(std::vector<std::int64_t>{1, 1, 1, 1})}});
  g.add_node("Relu", {"c"}, {"r"});
  g.add_node("Conv", {"r", "w2"}, {"d"}, {{"group", Attribute::of(32)}});
  g.add_node("MaxPool", {"d"}, {"y"}, {{"kernel_shape", Attribute::of(std::vector<std::int64_t>{2, 2})}});
  g.add_output("y");
  const Tensor x = random({2, 16, 20, 20}, 6);
  const std::vector<float> first = run_threads(g, x, 1);
  for (int threads : {2, 3}) EXPECT_EQ(first, run_threads(g, x, threads)) << threads << " threads";
  for (simd::Isa isa : {simd::Isa::scalar, simd::Isa::sse2, simd::Isa::avx2, simd::Isa::avx512}) {
    ModelOptions o;
    o.max_isa = isa;
    Session s(Model::compile(g, o));
    s.set_input("x", x);
    s.run();
    const auto got = values(s.output(0));
    for (std::size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(first[i], got[i], 1e-4 * (1 + std::abs(first[i])));
  }
}

TEST(Session, OpsAreCreatedOnTheModelsThreadsWithTheSameResultsAndErrors) {
  // Twelve 1x1 convolutions share one weight (each packs it; the last one created releases
  // it) and six have their own, so creation on several threads races on the releases.
  Graph g;
  g.add_input("x", DataType::float32, std::vector<std::int64_t>{1, 8, 5, 5});
  g.add_constant("w", random({8, 8, 1, 1}, 7, -0.5f, 0.5f));
  std::string at = "x";
  for (int i = 0; i < 18; ++i) {
    const std::string n = std::to_string(i), w = i % 3 == 2 ? n + "w" : "w";
    if (w != "w") g.add_constant(w, random({8, 8, 1, 1}, 8 + static_cast<unsigned>(i), -0.5f, 0.5f));
    g.add_node("Conv", {at, w}, {n + "c"});
    g.add_node("Relu", {n + "c"}, {n + "r"});
    at = n + "r";
  }
  g.add_output(at);
  const Tensor x = random({1, 8, 5, 5}, 6);
  const std::vector<float> first = run_threads(g, x, 1);
  for (int threads : {2, 3, 8}) EXPECT_EQ(first, run_threads(g, x, threads)) << threads << " threads";
  // Two operators edgert lacks: the first in schedule order (the order they were added, here)
  // is named whatever the threads.
  Graph bad = g;
  bad.add_node("Frobnicate", {"5r"}, {"f1"}, {}, "first_bad");
  bad.add_node("Frobnicate", {"x"}, {"f0"}, {}, "second_bad");
  bad.add_node("Add", {"f0", "f1"}, {"sum"});
  bad.add_output("sum");
  for (int threads : {1, 2, 3, 8}) {
    ModelOptions o;
    o.num_threads = threads;
    SCOPED_TRACE(threads);
    expect_error(ErrorCode::unsupported, "node 'first_bad'", [&] { Model::compile(bad, o); });
  }
}

// The load's peak resident memory stays near what the loaded model keeps: the ops with the
// most constant data are created first, so the moment one holds its weights twice (as given
// and packed) comes before Winograd layers have grown the model (their transformed weights
// are 4x the given ones). Here four F(4x4) 3x3s on blocks (2.25 MiB given, 9 MiB transformed
// each) are scheduled before a 1x1 of 8 MiB; created in schedule order, the 1x1's second
// copy came on top of all four. The peak is reset through /proc/self/clear_refs (skipped
// where that cannot be written; under AddressSanitizer freed memory stays resident anyway).
TEST(Session, LoadPeakStaysNearWhatTheModelKeeps) {
  auto status = [](const char* key) {
    std::ifstream f("/proc/self/status");
    for (std::string line; std::getline(f, line);)
      if (line.rfind(key, 0) == 0) return std::stoll(line.substr(std::strlen(key))) * 1024;
    return -1LL;
  };
  // Built afresh for each load and handed over whole: the model must own its weights for
  // the given ones to be released.
  auto build = [] {
    Graph g;
    g.add_input("x", DataType::float32, {1, 256, 14, 14});
    std::string at = "x";
    for (int i = 0; i < 4; ++i) {
      const std::string n = std::to_string(i);
      g.add_constant("w" + n, random({256, 256, 3, 3}, 40 + i, -0.1f, 0.1f));
      g.add_node("Conv", {at, "w" + n}, {"c" + n}, {{"pads", Attribute::of(std::vector<std::int64_t>{1, 1, 1, 1})}});
      g.add_node("Relu", {"c" + n}, {"r" + n});
      at = "r" + n;
    }
    g.add_constant("big", random({8192, 256, 1, 1}, 50, -0.1f, 0.1f));
    g.add_node("Conv", {at, "big"}, {"y"});
    g.add_output("y");
    return g;
  };
  for (int threads : {1, 2}) {
    Graph copy = build();
    {
      std::ofstream reset("/proc/self/clear_refs");
      if (!(reset << "5" << std::flush)) GTEST_SKIP() << "cannot reset the peak RSS";
    }
    ModelOptions o;
    o.num_threads = threads;
    const auto model = Model::compile(std::move(copy), o);
    const long long peak = status("VmHWM:"), now = status("VmRSS:");
    ASSERT_GT(peak, 0);
    std::size_t winograd = 0;
    for (const Node& n : model->graph().nodes) winograd += n.attr_int("_edgert_winograd_nc16", 0) == 4;
    EXPECT_EQ(winograd, 4u);
    // 2.2-2.5 MiB here (the last 3x3's given weights); 8.3 in schedule order.
    EXPECT_LT(peak - now, 5LL << 20) << threads << " threads: peak " << peak << ", after " << now;
  }
}

TEST(Session, BadInputsAreClearErrors) {
  auto m = Model::compile(chain(2));
  Session s(m);
  expect_error(ErrorCode::invalid_argument, "'x' was not set", [&] { s.run(); });
  expect_error(ErrorCode::invalid_argument, "no input named 'y'", [&] { s.set_input("y", random({1, 8}, 1)); });
  expect_error(ErrorCode::shape, "expected shape [N,8]", [&] { s.set_input("x", random({1, 7}, 1)); });
  expect_error(ErrorCode::shape, "expected float32", [&] { s.set_input("x", make_i64({1, 8}, {})); });
}

TEST(Graph, ValidationNamesTheProblem) {
  Graph cyc;
  cyc.add_input("x", DataType::float32, std::vector<std::int64_t>{1});
  cyc.add_node("Add", {"x", "b"}, {"a"}, {}, "first");
  cyc.add_node("Neg", {"a"}, {"b"}, {}, "second");
  cyc.add_output("b");
  expect_error(ErrorCode::parse, "cycle", [&] { Model::compile(cyc); });

  Graph dangling;
  dangling.add_input("x", DataType::float32, std::vector<std::int64_t>{1});
  dangling.add_node("Add", {"x", "ghost"}, {"y"}, {}, "adder");
  dangling.add_output("y");
  expect_error(ErrorCode::parse, "'ghost' is not produced", [&] { Model::compile(dangling); });

  Graph twice;
  twice.add_input("x", DataType::float32, std::vector<std::int64_t>{1});
  twice.add_node("Neg", {"x"}, {"y"});
  twice.add_node("Relu", {"x"}, {"y"});
  twice.add_output("y");
  expect_error(ErrorCode::parse, "produced twice", [&] { Model::compile(twice); });
}

TEST(Session, TensorsBeyondTheLimitAreRefusedBeforeAllocation) {
  Graph g;
  g.add_input("x", DataType::float32, std::vector<std::int64_t>{1});
  g.add_constant("s", make_i64({3}, {100000, 100000, 100000}));
  g.add_node("Expand", {"x", "s"}, {"y"});
  g.add_output("y");
  ModelOptions o;
  o.max_tensor_bytes = 1 << 20;
  Session s(Model::compile(g, o));
  s.set_input("x", make({1}, {1}));
  expect_error(ErrorCode::out_of_memory, "exceeds the tensor size limit", [&] { s.run(); });
}

TEST(Session, OverridableInitializerUsesDefaultUntilFed) {
  Graph g;
  g.add_input("x", DataType::float32, std::vector<std::int64_t>{2});
  const ValueId b = g.add_constant("b", make({2}, {10, 20}));
  g.inputs.push_back(b);
  g.overridable.push_back(b);
  g.add_node("Add", {"x", "b"}, {"y"});
  g.add_output("y");
  Session s(Model::compile(g));
  s.set_input("x", make({2}, {1, 2}));
  s.run();
  expect_near({11, 22}, s.output(0), 0);
  s.set_input("b", make({2}, {100, 200}));
  s.run();
  expect_near({101, 202}, s.output(0), 0);
}

}  // namespace
}  // namespace edgert::test
