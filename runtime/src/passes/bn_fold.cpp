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

std::string check_weight(WeightLayout layout, const std::vector<std::int64_t>& dims, std::int64_t group,
                         std::int64_t channels) {
  switch (layout) {
    case WeightLayout::conv:
      if (dims.size() < 3 || dims[0] != channels)
        return cat("the weight's output channels (", dims.empty() ? 0 : dims[0],
                   ") differ from the BatchNormalization's (", channels, ")");
      return "";
    case WeightLayout::conv_transpose:
      if (dims.size() < 3 || group <= 0 || dims[0] % group != 0 || dims[1] * group != channels)
        return cat("the weight's output channels (", dims.size() < 2 ? 0 : dims[1], " x group ", group,
                   ") differ from the BatchNormalization's (", channels, ")");
      return "";
    case WeightLayout::conv_input:
      if (dims.size() < 3 || group <= 0 || dims[0] % group != 0 || dims[1] * group != channels)
        return cat("the Conv's input channels (", dims.size() < 2 ? 0 : dims[1], " x group ", group,
                   ") differ from the BatchNormalization's (", channels, ")");
      return "";
    case WeightLayout::matrix_kn:
    case WeightLayout::matrix_nk:
      if (dims.size() != 2 || dims[layout == WeightLayout::matrix_kn ? 1 : 0] != channels)
        return cat("the weight's output columns differ from the BatchNormalization's channels (", channels, ")");
      return "";
  }
  return "unknown weight layout";
}

std::int64_t weight_channel(WeightLayout layout, const std::vector<std::int64_t>& dims, std::int64_t group,
                            std::int64_t e) {
  switch (layout) {
    case WeightLayout::conv: {
      std::int64_t inner = 1;
      for (std::size_t d = 1; d < dims.size(); ++d) inner *= dims[d];
      return e / inner;
    }
    case WeightLayout::conv_transpose: {
      std::int64_t inner = 1;
      for (std::size_t d = 2; d < dims.size(); ++d) inner *= dims[d];
      const std::int64_t cin_g = dims[0] / group, cout_g = dims[1];
      const std::int64_t row = e / (cout_g * inner), j = (e / inner) % cout_g;
      return (row / cin_g) * cout_g + j;
    }
    case WeightLayout::conv_input: {
      std::int64_t k = 1;
      for (std::size_t d = 2; d < dims.size(); ++d) k *= dims[d];
      const std::int64_t o = e / (dims[1] * k), i = (e / k) % dims[1];
      return (o / (dims[0] / group)) * dims[1] + i;
    }
    case WeightLayout::matrix_kn:
      return e % dims[1];
    case WeightLayout::matrix_nk:
      return e / dims[1];
  }
  return 0;
}

Tensor scale_weight(const Tensor& w, WeightLayout layout, std::int64_t group, const Affine& f, bool& overflow,
                    bool in_place) {
  Tensor out = in_place ? w : Tensor::allocate(w.dtype(), w.shape());
  overflow = false;
  const auto& dims = w.shape();
  // Consecutive elements share a channel in runs of this length.
  std::int64_t run = 1;
  if (layout == WeightLayout::conv || layout == WeightLayout::conv_transpose || layout == WeightLayout::conv_input)
    for (std::size_t d = layout == WeightLayout::conv ? 1 : 2; d < dims.size(); ++d) run *= dims[d];
  if (layout == WeightLayout::matrix_nk) run = dims[1];
  const std::int64_t n = w.numel();
  auto apply = [&](auto load, auto store) {
    for (std::int64_t e0 = 0; e0 < n; e0 += run) {
      const double a = f.a[static_cast<std::size_t>(weight_channel(layout, dims, group, e0))];
      const std::int64_t e1 = std::min(n, e0 + run);
      for (std::int64_t e = e0; e < e1; ++e) store(e, a * load(e));
    }
  };
  switch (w.dtype()) {
    case DataType::float32: {
      const float* src = w.data<float>();
      float* dst = out.data<float>();
      apply([src](std::int64_t e) { return static_cast<double>(src[e]); },
            [dst](std::int64_t e, double v) { dst[e] = static_cast<float>(v); });
      break;
    }
    case DataType::float64: {
      const double* src = w.data<double>();
      double* dst = out.data<double>();
      apply([src](std::int64_t e) { return src[e]; }, [dst](std::int64_t e, double v) { dst[e] = v; });
      break;
    }
    case DataType::float16:
      apply([&](std::int64_t e) { return static_cast<double>(half_to_float(w.data<std::uint16_t>()[e])); },
            [&](std::int64_t e, double v) {
              if (!(std::abs(v) <= 65504.0)) overflow = true;
              out.data<std::uint16_t>()[e] = float_to_half(static_cast<float>(v));
            });
      break;
    case DataType::bfloat16:
      apply([&](std::int64_t e) { return static_cast<double>(bfloat16_to_float(w.data<std::uint16_t>()[e])); },
            [&](std::int64_t e, double v) { out.data<std::uint16_t>()[e] = float_to_bfloat16(static_cast<float>(v)); });
      break;
    default:
      fail(ErrorCode::internal, "scale_weight: ", dtype_name(w.dtype()), " is not a floating type");
  }
  return out;
}

std::vector<double> forward_bias(const Tensor& w, std::int64_t group, const std::vector<double>& bias,
                                 const Affine& f) {
  const auto& dims = w.shape();
  const std::vector<double> wv = tensor_to_doubles(w);
  const std::int64_t cout = dims[0], cin_g = dims[1], k = w.numel() / (cout * cin_g), cout_g = cout / group;
  std::vector<double> out(static_cast<std::size_t>(cout));
  for (std::int64_t o = 0; o < cout; ++o) {
    double acc = bias.empty() ? 0.0 : bias[static_cast<std::size_t>(o)];
    for (std::int64_t i = 0; i < cin_g; ++i) {
      const double s = f.s[static_cast<std::size_t>((o / cout_g) * cin_g + i)];
      for (std::int64_t t = 0; t < k; ++t) acc += wv[static_cast<std::size_t>((o * cin_g + i) * k + t)] * s;
    }
    out[static_cast<std::size_t>(o)] = acc;
  }
  return out;
}

std::vector<double> fold_bias(const std::vector<double>& bias, const Affine& f) {
  std::vector<double> out(f.a.size());
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = f.a[i] * (bias.empty() ? 0.0 : bias[i]) + f.s[i];
  return out;
}

}  // namespace edgert::fold
