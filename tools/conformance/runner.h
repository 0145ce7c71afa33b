// Runs ONNX backend test cases (model.onnx + test_data_set_*/{input,output}_*.pb) in edgert
// and compares with the expected outputs using the suite's tolerances.
#pragma once

#include <string>
#include <vector>

#include "edgert/session.h"

namespace edgert::conformance {

enum class Verdict { pass, fail, unsupported, skipped };

struct CaseResult {
  std::string name;
  std::string path;
  Verdict verdict = Verdict::pass;
  std::string detail;            ///< why it failed, what is unsupported, or why it is skipped
  std::vector<std::string> ops;  ///< operator types the model uses
  std::string blame;             ///< for unsupported: the operator at fault, when one is named
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

/// Cases whose stored data no correct runtime can match, with the reason ("" for others).
/// Keyed "<folder>/<case>", e.g. "node/test_cast_FLOAT_to_BFLOAT16".
std::string known_data_issue(const std::string& dir);

}  // namespace edgert::conformance
