// Runs ONNX backend test cases (model.onnx + test_data_set_*/{input,output}_*.pb) in edgert
// and compares with the expected outputs using the suite's tolerances.
#pragma once

#include <string>
#include <vector>

#include "edgert/session.h"

namespace edgert::conformance {

enum class Verdict { pass, fail, unsupported };

struct CaseResult {
  std::string name;
  std::string path;
  Verdict verdict = Verdict::pass;
  std::string detail;            ///< why it failed or what is unsupported
  std::vector<std::string> ops;  ///< operator types the model uses
};

struct Tolerance {
  double rtol = 1e-3;
  double atol = 1e-7;
};

/// Every case folder (one holding model.onnx) below `root`, sorted.
std::vector<std::string> discover(const std::string& root);

/// Runs one case folder with the given options.
CaseResult run_case(const std::string& dir, const ModelOptions& options, const Tolerance& tol = {});

/// Compares `got` with `want`; empty when they agree, else a description of the worst element.
std::string compare(const Tensor& want, const Tensor& got, const Tolerance& tol);

const char* verdict_name(Verdict v);

}  // namespace edgert::conformance
