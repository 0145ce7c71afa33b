#include "edgert/bn_fold.h"

#include <cmath>

#include "edgert/error.h"

namespace edgert::fold {

Affine bn_affine(const std::vector<double>& scale, const std::vector<double>& bias, const std::vector<double>& mean,
                 const std::vector<double>& var, double epsilon) {
  Affine f;
  const std::size_t c = scale.size();
  f.a.resize(c);
  f.s.resize(c);
  for (std::size_t i = 0; i < c; ++i) {
    f.a[i] = scale[i] / std::sqrt(var[i] + epsilon);
    f.s[i] = bias[i] - mean[i] * f.a[i];
  }
  return f;
}

Affine compose(const Affine& first, const Affine& second) {
  Affine f;
  f.a.resize(first.a.size());
  f.s.resize(first.a.size());
  for (std::size_t i = 0; i < first.a.size(); ++i) {
    f.a[i] = second.a[i] * first.a[i];
    f.s[i] = second.a[i] * first.s[i] + second.s[i];
  }
  return f;
}

bool affine_finite(const Affine& f) {
  for (std::size_t i = 0; i < f.a.size(); ++i)
    if (!std::isfinite(f.a[i]) || !std::isfinite(f.s[i])) return false;
  return true;
}

std::vector<std::int64_t> weight_channels(WeightLayout layout, const std::vector<std::int64_t>& dims,
                                          std::int64_t group, std::int64_t channels, std::string& error) {
  std::int64_t total = 1;
  for (std::int64_t d : dims) total *= d;
  std::vector<std::int64_t> out;
  switch (layout) {
    case WeightLayout::conv: {
      if (dims.size() < 3 || dims[0] != channels) {
        error = cat("the weight's output channels (", dims.empty() ? 0 : dims[0],
                    ") differ from the BatchNormalization's (", channels, ")");
        return {};
      }
      const std::int64_t inner = total / channels;
      out.resize(static_cast<std::size_t>(total));
      for (std::int64_t i = 0; i < total; ++i) out[i] = i / inner;
      return out;
    }
    case WeightLayout::conv_transpose: {
      if (dims.size() < 3 || group <= 0 || dims[0] % group != 0 || dims[1] * group != channels) {
        error = cat("the weight's output channels (", dims.size() < 2 ? 0 : dims[1], " x group ", group,
                    ") differ from the BatchNormalization's (", channels, ")");
        return {};
      }
      const std::int64_t cin_g = dims[0] / group, cout_g = dims[1], inner = total / (dims[0] * dims[1]);
      out.resize(static_cast<std::size_t>(total));
      for (std::int64_t i = 0; i < total; ++i) {
        const std::int64_t row = i / (cout_g * inner), j = (i / inner) % cout_g;
        out[i] = (row / cin_g) * cout_g + j;
      }
      return out;
    }
    case WeightLayout::matrix_kn:
    case WeightLayout::matrix_nk: {
      const bool kn = layout == WeightLayout::matrix_kn;
      if (dims.size() != 2 || dims[kn ? 1 : 0] != channels) {
        error = cat("the weight's output columns differ from the BatchNormalization's channels (", channels, ")");
        return {};
      }
      out.resize(static_cast<std::size_t>(total));
      for (std::int64_t i = 0; i < total; ++i) out[i] = kn ? i % dims[1] : i / dims[1];
      return out;
    }
  }
  error = "unknown weight layout";
  return {};
}

std::vector<double> scale_weight(const std::vector<double>& w, const std::vector<std::int64_t>& channel_of,
                                 const Affine& f) {
  std::vector<double> out(w.size());
  for (std::size_t i = 0; i < w.size(); ++i) out[i] = f.a[static_cast<std::size_t>(channel_of[i])] * w[i];
  return out;
}

std::vector<double> fold_bias(const std::vector<double>& bias, const Affine& f) {
  std::vector<double> out(f.a.size());
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = f.a[i] * (bias.empty() ? 0.0 : bias[i]) + f.s[i];
  return out;
}

}  // namespace edgert::fold
