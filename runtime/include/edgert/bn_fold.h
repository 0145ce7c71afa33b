// BatchNormalization folding arithmetic: pure functions in double precision, shared by the
// load-time pass (runtime) and the offline `edgert fold` tool (onnx). Callers round the
// results once to the weight's element type.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "edgert/tensor.h"

namespace edgert::fold {

/// A per-channel affine map y[c] = a[c] * x[c] + s[c].
struct Affine {
  std::vector<double> a, s;
  std::size_t channels() const { return a.size(); }
};

/// Inference BatchNormalization as an affine map: a = scale / sqrt(var + eps),
/// s = bias - mean * a. All four vectors must have the same length. var + eps <= 0 gives
/// a non-finite a, which callers must treat as "cannot fold" (see affine_finite).
Affine bn_affine(const std::vector<double>& scale, const std::vector<double>& bias, const std::vector<double>& mean,
                 const std::vector<double>& var, double epsilon);

/// The map `second(first(x))`.
Affine compose(const Affine& first, const Affine& second);

/// Whether every coefficient is finite.
bool affine_finite(const Affine& f);

/// How a producer's weight tensor maps its elements to output channels.
enum class WeightLayout {
  conv,            ///< Conv W[C_out, C_in/g, k...]: channel = index along axis 0
  conv_transpose,  ///< ConvTranspose W[C_in, C_out/g, k...]: channel = (i / (C_in/g)) * (C_out/g) + j
  matrix_kn,       ///< Gemm/MatMul B[K, N] (transB = 0): channel = column
  matrix_nk,       ///< Gemm B[N, K] (transB = 1): channel = row
  conv_input,      ///< Conv W[C_out, C_in/g, k...] scaled by INPUT channel (folding forward):
                   ///< channel = (o / (C_out/g)) * (C_in/g) + i
};

/// Checks that a weight of `dims` in `layout` has `channels` output channels; returns ""
/// when it does, else what is wrong (e.g. a BN whose length differs from C_out).
std::string check_weight(WeightLayout layout, const std::vector<std::int64_t>& dims, std::int64_t group,
                         std::int64_t channels);

/// Output channel of flat element `e` of a weight that passed check_weight.
std::int64_t weight_channel(WeightLayout layout, const std::vector<std::int64_t>& dims, std::int64_t group,
                            std::int64_t e);

/// W'[e] = a[channel(e)] * W[e], each element computed in double and rounded once to W's
/// type (float32, float64, float16 or bfloat16). `overflow` is set when a float16 result
/// would not be finite. With `in_place`, W's storage is overwritten and shared by the result
/// (for a caller that alone sees W); otherwise W is left as it was.
Tensor scale_weight(const Tensor& w, WeightLayout layout, std::int64_t group, const Affine& f, bool& overflow,
                    bool in_place = false);

/// Folding forward into a Conv W[C_out, C_in/g, k...] that reads the map's output with no
/// padding: b'[o] = b[o] + sum over i, k of W[o, i, k] * s[(o / (C_out/g)) * (C_in/g) + i].
/// An empty `bias` means zeros.
std::vector<double> forward_bias(const Tensor& w, std::int64_t group, const std::vector<double>& bias, const Affine& f);

/// b'[c] = a[c] * b[c] + s[c]; an empty `bias` means zeros.
std::vector<double> fold_bias(const std::vector<double>& bias, const Affine& f);

}  // namespace edgert::fold
