// The ONNX backend test suite (Debian's libonnx-testdata) as the judge of every operator:
// each case runs in edgert and must match the expected outputs within the suite's
// tolerance (relative 1e-3, absolute 1e-7). Cases using something edgert does not
// implement are skipped with the reason; a wrong answer or a crash fails.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "edgert/simd/kernels.h"
#include "runner.h"

namespace {

namespace fs = std::filesystem;
using edgert::conformance::Verdict;

struct Case {
  std::string name, dir;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.dir; }

std::vector<Case> cases() {
  std::vector<Case> out;
  const fs::path root = EDGERT_ONNX_TESTDATA;
  for (const char* folder : {"node", "pytorch-converted", "pytorch-operator", "simple"}) {
    std::error_code ec;
    if (!fs::exists(root / folder, ec)) continue;
    for (const std::string& dir : edgert::conformance::discover((root / folder).string())) {
      std::string name = std::string(folder) + "_" + fs::path(dir).filename().string();
      for (char& c : name)
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
      out.push_back({name, dir});
    }
  }
  return out;
}

class Conformance : public ::testing::TestWithParam<Case> {};

TEST_P(Conformance, MatchesExpectedOutputs) {
  const Case& c = GetParam();
  // Folding on and off, on every kernel tier the host supports.
  for (bool fold : {true, false})
    for (edgert::simd::Isa isa : {edgert::simd::Isa::scalar, edgert::simd::Isa::sse2, edgert::simd::Isa::avx2,
                                  edgert::simd::Isa::avx512, edgert::simd::Isa::neon}) {
      if (!edgert::simd::kernels_for(isa)) continue;
      edgert::ModelOptions o;
      o.fold_batchnorm = fold;
      o.max_isa = isa;
      const auto r = edgert::conformance::run_case(c.dir, o);
      if (r.verdict == Verdict::skipped) GTEST_SKIP() << "test data issue: " << r.detail;
      if (r.verdict == Verdict::unsupported) GTEST_SKIP() << r.detail;
      EXPECT_EQ(r.verdict, Verdict::pass) << "fold " << fold << ", " << edgert::simd::isa_name(isa) << ": " << r.detail;
    }
}

INSTANTIATE_TEST_SUITE_P(Onnx, Conformance, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case>& p) { return p.param.name; });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(Conformance);

}  // namespace
