// Helpers for operator tests: one-node graphs built with the runtime's builder API.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "edgert/error.h"
#include "edgert/graph.h"
#include "edgert/session.h"

namespace edgert::test {

inline Tensor make(const Shape& s, std::vector<float> v) { return Tensor::from_vector<float>(DataType::float32, s, v); }
inline Tensor make_i64(const Shape& s, std::vector<std::int64_t> v) {
  return Tensor::from_vector<std::int64_t>(DataType::int64, s, v);
}

inline Tensor random(const Shape& s, unsigned seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(static_cast<std::size_t>(shape_numel(s)));
  for (auto& x : v) x = u(rng);
  return make(s, v);
}

inline std::vector<float> values(const Tensor& t) {
  std::vector<float> v(static_cast<std::size_t>(t.numel()));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = t.data<float>()[i];
  return v;
}

/// A graph with graph inputs (fed at run) and constants, run once.
class Net {
 public:
  explicit Net(int opset = 17) : opset_(opset) {}
  Net& input(const std::string& name, const Tensor& t) {
    g_.add_input(name, t.dtype(), t.shape());
    feeds_.emplace_back(name, t);
    return *this;
  }
  Net& constant(const std::string& name, const Tensor& t) {
    g_.add_constant(name, t);
    return *this;
  }
  Net& node(const std::string& op, const std::vector<std::string>& ins, const std::vector<std::string>& outs,
            Attributes attrs = {}) {
    g_.add_node(op, ins, outs, std::move(attrs), "", opset_);
    return *this;
  }
  std::vector<Tensor> run(const std::vector<std::string>& outs, ModelOptions options = {}) {
    Graph g = g_;
    for (const auto& o : outs) g.add_output(o);
    auto model = Model::compile(std::move(g), options);
    Session s(model);
    for (const auto& [n, t] : feeds_) s.set_input(n, t);
    s.run();
    std::vector<Tensor> result;
    for (std::size_t i = 0; i < outs.size(); ++i) result.push_back(s.output(i).clone());
    return result;
  }
  Tensor run1(const std::string& out, ModelOptions options = {}) { return run({out}, options)[0]; }
  Graph& graph() { return g_; }

 private:
  int opset_;
  Graph g_;
  std::vector<std::pair<std::string, Tensor>> feeds_;
};

inline void expect_near(const std::vector<double>& want, const Tensor& got, double tol = 1e-4) {
  ASSERT_EQ(static_cast<std::int64_t>(want.size()), got.numel());
  const std::vector<double> g = tensor_to_doubles(got);
  for (std::size_t i = 0; i < want.size(); ++i) {
    if (std::isnan(want[i])) {
      EXPECT_TRUE(std::isnan(g[i])) << "element " << i;
      continue;
    }
    ASSERT_NEAR(want[i], g[i], tol * (1.0 + std::abs(want[i]))) << "element " << i;
  }
}

/// Expects f() to throw an Error with `code` whose message contains `fragment`.
template <class F>
void expect_error(ErrorCode code, const std::string& fragment, F&& f) {
  try {
    f();
    FAIL() << "expected an error mentioning '" << fragment << "'";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

}  // namespace edgert::test
