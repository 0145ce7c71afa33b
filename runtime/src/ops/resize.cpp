// Resize (opsets 10-19) and Upsample (7-9): nearest, linear and cubic, every coordinate
// transformation mode, on any number of axes. Each output coordinate along an axis maps to
// a few input taps with weights; an output element is the weighted sum over the product
// of its axes' taps.
#include <algorithm>
#include <cmath>

#include "common.h"

namespace edgert {
namespace {

class ResizeOp : public Op {
 public:
  explicit ResizeOp(const CreateContext& c) : node_(c.node) {
    const Node& n = c.node;
    upsample_ = n.op_type == "Upsample";
    mode_ = n.attr_string("mode", "nearest");
    if (mode_ == "bilinear" || mode_ == "trilinear") mode_ = "linear";
    if (mode_ != "nearest" && mode_ != "linear" && mode_ != "cubic")
      fail(ErrorCode::unsupported, n.label(), ": mode '", mode_, "' is not supported");
    legacy_ = upsample_ || n.opset < 11;
    coord_ = legacy_ ? "asymmetric" : n.attr_string("coordinate_transformation_mode", "half_pixel");
    nearest_ = legacy_ ? "legacy" : n.attr_string("nearest_mode", "round_prefer_floor");
    cubic_a_ = n.attr_float("cubic_coeff_a", -0.75f);
    exclude_outside_ = n.attr_int("exclude_outside", 0) != 0;
    extrapolation_ = n.attr_float("extrapolation_value", 0.0f);
    antialias_ = n.attr_int("antialias", 0) != 0;
    axes_ = n.attr_ints("axes");
    policy_ = n.attr_string("keep_aspect_ratio_policy", "stretch");
    attr_scales_ = n.attr_floats("scales");
    static const char* modes[] = {"half_pixel",           "pytorch_half_pixel", "align_corners",       "asymmetric",
                                  "tf_half_pixel_for_nn", "tf_crop_and_resize", "half_pixel_symmetric"};
    if (std::find_if(std::begin(modes), std::end(modes), [&](const char* m) { return coord_ == m; }) == std::end(modes))
      fail(ErrorCode::unsupported, n.label(), ": coordinate_transformation_mode '", coord_, "' is not supported");
    if (policy_ != "stretch" && policy_ != "not_larger" && policy_ != "not_smaller")
      fail(ErrorCode::parse, n.label(), ": keep_aspect_ratio_policy '", policy_, "' is unknown");
  }

  struct Plan {
    Shape out;
    std::vector<double> scale;
    std::vector<double> roi;  // start values then end values, per axis
  };

  template <class Get, class Has>
  Plan plan(const Shape& x, Get&& get, Has&& has) const {
    const std::size_t r = x.size();
    Plan p;
    p.out = x;
    p.scale.assign(r, 1.0);
    p.roi.assign(2 * r, 0.0);
    for (std::size_t d = 0; d < r; ++d) p.roi[r + d] = 1.0;
    std::vector<std::int64_t> axes;
    for (std::int64_t a : axes_) axes.push_back(normalize_axis(node_, a, static_cast<std::int64_t>(r)));
    if (axes.empty())
      for (std::size_t d = 0; d < r; ++d) axes.push_back(static_cast<std::int64_t>(d));
    std::vector<double> scales, sizes_d;
    std::vector<std::int64_t> sizes;
    if (upsample_) {
      scales = has(1) ? get_doubles(get(1)) : std::vector<double>(attr_scales_.begin(), attr_scales_.end());
    } else if (node_.opset < 11) {
      scales = get_doubles(get(1));
    } else {
      if (has(1) && coord_ == "tf_crop_and_resize") {
        const auto roi = get_doubles(get(1));
        if (roi.size() != 2 * axes.size()) fail(ErrorCode::shape, node_.label(), ": roi must have 2 values per axis");
        for (std::size_t i = 0; i < axes.size(); ++i) {
          p.roi[axes[i]] = roi[i];
          p.roi[r + axes[i]] = roi[axes.size() + i];
        }
      }
      if (has(2)) scales = get_doubles(get(2));
      if (has(3)) sizes = ints_of(get(3));
      if (!scales.empty() && !sizes.empty())
        fail(ErrorCode::shape, node_.label(), ": only one of scales and sizes may be given");
      if (scales.empty() && sizes.empty()) fail(ErrorCode::shape, node_.label(), ": needs scales or sizes");
    }
    if (!scales.empty()) {
      if (scales.size() != axes.size())
        fail(ErrorCode::shape, node_.label(), ": scales has ", scales.size(), " values for ", axes.size(), " axes");
      for (std::size_t i = 0; i < axes.size(); ++i) {
        const std::int64_t a = axes[i];
        if (scales[i] <= 0) fail(ErrorCode::shape, node_.label(), ": scales must be positive");
        p.scale[a] = scales[i];
        const double span = coord_ == "tf_crop_and_resize" ? p.roi[r + a] - p.roi[a] : 1.0;
        p.out[a] =
            computed_extent(node_, "output size", std::floor(static_cast<double>(x[a]) * span * scales[i] + 1e-9));
      }
    } else {
      if (sizes.size() != axes.size())
        fail(ErrorCode::shape, node_.label(), ": sizes has ", sizes.size(), " values for ", axes.size(), " axes");
      if (policy_ != "stretch") {
        double s = policy_ == "not_larger" ? 1e300 : 0.0;
        for (std::size_t i = 0; i < axes.size(); ++i) {
          const double v = static_cast<double>(sizes[i]) / static_cast<double>(x[axes[i]]);
          s = policy_ == "not_larger" ? std::min(s, v) : std::max(s, v);
        }
        for (std::size_t i = 0; i < axes.size(); ++i) {
          p.scale[axes[i]] = s;
          p.out[axes[i]] = computed_extent(node_, "output size", std::floor(s * static_cast<double>(x[axes[i]]) + 0.5));
        }
      } else {
        for (std::size_t i = 0; i < axes.size(); ++i) {
          if (sizes[i] < 0) fail(ErrorCode::shape, node_.label(), ": sizes must be non-negative");
          p.out[axes[i]] = sizes[i];
          p.scale[axes[i]] = x[axes[i]] ? static_cast<double>(sizes[i]) / static_cast<double>(x[axes[i]]) : 1.0;
        }
      }
    }
    return p;
  }

  static std::vector<double> get_doubles(const Tensor& t) { return tensor_to_doubles(t); }

  void infer(InferContext& ctx) const override {
    const Tensor& x = ctx.in(0);
    if (x.dtype() != DataType::float32 && x.dtype() != DataType::float64 && x.dtype() != DataType::uint8 &&
        x.dtype() != DataType::int8 && x.dtype() != DataType::int32 && x.dtype() != DataType::int64)
      fail(ErrorCode::unsupported, node_.label(), ": element type ", dtype_name(x.dtype()), " is not supported");
    const Plan p = plan(
        x.shape(), [&](std::size_t i) -> const Tensor& { return ctx.value(i); },
        [&](std::size_t i) { return ctx.has(i) && ctx.in(i).numel() > 0; });
    if (antialias_)
      for (std::size_t d = 0; d < p.scale.size(); ++d)
        if (p.scale[d] < 1.0 && mode_ != "nearest")
          fail(ErrorCode::unsupported, node_.label(), ": antialiased downsampling is not supported");
    ctx.set_output(0, x.dtype(), p.out);
  }

  void run(const RunContext& ctx) const override {
    const Tensor& x = ctx.in(0);
    const Plan p = plan(
        x.shape(), [&](std::size_t i) -> const Tensor& { return ctx.in(i); },
        [&](std::size_t i) { return ctx.has(i) && ctx.in(i).numel() > 0; });
    const std::size_t r = x.rank();
    // Per axis: taps per output coordinate, indices (-1 = outside, extrapolate) and weights.
    std::vector<int> taps(r);
    std::vector<std::vector<std::int64_t>> idx(r);
    std::vector<std::vector<double>> wt(r);
    for (std::size_t d = 0; d < r; ++d)
      axis_taps(x.dim(d), p.out[d], p.scale[d], p.roi[d], p.roi[r + d], taps[d], idx[d], wt[d]);
    const auto xs = strides_of(x.shape());
    dispatch_numeric(x.dtype(), node_, [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* px = x.data<T>();
      T* py = ctx.out(0).data<T>();
      std::vector<std::int64_t> o(r, 0);
      const std::int64_t total = ctx.out(0).numel();
      for (std::int64_t e = 0; e < total; ++e) {
        double acc = 0;
        bool outside = false;
        sum_taps(0, 0, 1.0, o, taps, idx, wt, xs, px, acc, outside);
        double v = outside ? static_cast<double>(extrapolation_) : acc;
        if constexpr (std::is_integral_v<T>) {
          v = std::nearbyint(v);
          v = std::clamp(v, static_cast<double>(std::numeric_limits<T>::lowest()),
                         static_cast<double>(std::numeric_limits<T>::max()));
        }
        py[e] = saturate_cast<T>(v);
        for (std::size_t d = r; d-- > 0;) {
          if (++o[d] < p.out[d]) break;
          o[d] = 0;
        }
      }
    });
  }

 private:
  template <class T>
  static void sum_taps(std::size_t d, std::int64_t off, double w, const std::vector<std::int64_t>& o,
                       const std::vector<int>& taps, const std::vector<std::vector<std::int64_t>>& idx,
                       const std::vector<std::vector<double>>& wt, const std::vector<std::int64_t>& xs, const T* px,
                       double& acc, bool& outside) {
    if (d == o.size()) {
      acc += w * static_cast<double>(px[off]);
      return;
    }
    const int t = taps[d];
    for (int k = 0; k < t; ++k) {
      const std::int64_t i = idx[d][o[d] * t + k];
      const double wk = wt[d][o[d] * t + k];
      if (i < 0) {
        outside = true;
        return;
      }
      if (wk == 0.0 && t > 1) continue;
      sum_taps(d + 1, off + i * xs[d], w * wk, o, taps, idx, wt, xs, px, acc, outside);
      if (outside) return;
    }
  }

  double original(std::int64_t xo, std::int64_t in, std::int64_t out, double scale, double r0, double r1) const {
    const double x = static_cast<double>(xo);
    if (coord_ == "half_pixel") return (x + 0.5) / scale - 0.5;
    if (coord_ == "pytorch_half_pixel") return out > 1 ? (x + 0.5) / scale - 0.5 : 0.0;
    if (coord_ == "align_corners") {
      const double len = static_cast<double>(in) * scale;  // the unrounded output length
      return out == 1 ? 0.0 : x * static_cast<double>(in - 1) / (len - 1.0);
    }
    if (coord_ == "asymmetric") return x / scale;
    if (coord_ == "tf_half_pixel_for_nn") return (x + 0.5) / scale;
    if (coord_ == "half_pixel_symmetric") {
      const double adj = static_cast<double>(out) / (static_cast<double>(in) * scale);
      const double center = static_cast<double>(in) / 2.0;
      return center * (1.0 - adj) + (x + 0.5) / scale - 0.5;
    }
    // tf_crop_and_resize
    if (out > 1)
      return r0 * static_cast<double>(in - 1) +
             x * (r1 - r0) * static_cast<double>(in - 1) / static_cast<double>(out - 1);
    return 0.5 * (r0 + r1) * static_cast<double>(in - 1);
  }

  void axis_taps(std::int64_t in, std::int64_t out, double scale, double r0, double r1, int& taps,
                 std::vector<std::int64_t>& idx, std::vector<double>& wt) const {
    const bool identity = in == out && scale == 1.0 && coord_ != "tf_crop_and_resize";
    taps = identity || mode_ == "nearest" ? 1 : mode_ == "linear" ? 2 : 4;
    idx.assign(static_cast<std::size_t>(out * taps), 0);
    wt.assign(static_cast<std::size_t>(out * taps), 0.0);
    for (std::int64_t xo = 0; xo < out; ++xo) {
      std::int64_t* ix = &idx[xo * taps];
      double* w = &wt[xo * taps];
      if (identity) {
        ix[0] = xo, w[0] = 1.0;
        continue;
      }
      double xf = original(xo, in, out, scale, r0, r1);
      if (coord_ == "tf_crop_and_resize" && (xf < 0 || xf > static_cast<double>(in - 1))) {
        for (int k = 0; k < taps; ++k) ix[k] = -1;
        continue;
      }
      if (mode_ == "nearest") {
        std::int64_t i;
        if (nearest_ == "legacy")
          i = scale < 1.0 ? static_cast<std::int64_t>(std::ceil(xf)) : static_cast<std::int64_t>(std::floor(xf));
        else if (nearest_ == "round_prefer_ceil")
          i = static_cast<std::int64_t>(std::floor(xf + 0.5));
        else if (nearest_ == "floor")
          i = static_cast<std::int64_t>(std::floor(xf));
        else if (nearest_ == "ceil")
          i = static_cast<std::int64_t>(std::ceil(xf));
        else
          i = static_cast<std::int64_t>(std::ceil(xf - 0.5));
        ix[0] = std::clamp<std::int64_t>(i, 0, in - 1);
        w[0] = 1.0;
      } else if (mode_ == "linear") {
        xf = std::clamp(xf, 0.0, static_cast<double>(in - 1));
        const std::int64_t i0 = static_cast<std::int64_t>(std::floor(xf));
        const std::int64_t i1 = std::min(i0 + 1, in - 1);
        const double f = xf - static_cast<double>(i0);
        ix[0] = i0, ix[1] = i1, w[0] = 1.0 - f, w[1] = f;
        if (i1 == i0) w[0] = 1.0, w[1] = 0.0;
      } else {
        const std::int64_t i0 = static_cast<std::int64_t>(std::floor(xf));
        const double f = xf - static_cast<double>(i0);
        const double a = cubic_a_;
        auto coef = [a](double t) {
          t = std::abs(t);
          if (t <= 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
          if (t < 2) return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a;
          return 0.0;
        };
        double sum = 0;
        for (int k = 0; k < 4; ++k) {
          const std::int64_t i = i0 - 1 + k;
          double c = coef(f + 1 - k);
          if (exclude_outside_ && (i < 0 || i >= in)) c = 0;
          ix[k] = std::clamp<std::int64_t>(i, 0, in - 1);
          w[k] = c;
          sum += c;
        }
        if (exclude_outside_ && sum != 0)
          for (int k = 0; k < 4; ++k) w[k] /= sum;
      }
    }
  }

  const Node& node_;
  bool upsample_, legacy_;
  std::string mode_, coord_, nearest_, policy_;
  float cubic_a_, extrapolation_;
  bool exclude_outside_, antialias_;
  std::vector<std::int64_t> axes_;
  std::vector<float> attr_scales_;
};

}  // namespace

std::vector<OpEntry> resize_ops() { return {{"Resize", make_op<ResizeOp>}, {"Upsample", make_op<ResizeOp>}}; }

}  // namespace edgert
