// Dispatch and ATen references for the adaLN modulation steps (modulation.h).
#include "kernels/modulation/modulation.h"

#include <cstdint>
#include <stdexcept>
#include <string>

#if defined(GALLOP_HAVE_CUDA)
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>

#include "kernels/modulation/modulation_cuda.h"
#endif

namespace gallop::kernels {

namespace {

// [B, C] or [B, 1, C] or [B, L, C] -> 3-D view.
at::Tensor as_3d(const at::Tensor& m) { return m.dim() == 2 ? m.unsqueeze(1) : m; }

void check_modulation(const char* what, const at::Tensor& x, const at::Tensor& m) {
  TORCH_CHECK(x.dim() == 3, what, ": x must be [B, L, C], got ", x.sizes());
  TORCH_CHECK(m.dim() == 2 || m.dim() == 3, what, ": modulation must be [B, C], [B, 1, C] or [B, L, C], got ",
              m.sizes());
  const auto m3 = as_3d(m);
  TORCH_CHECK(m3.size(2) == x.size(2) && (m3.size(0) == x.size(0) || m3.size(0) == 1) &&
                  (m3.size(1) == x.size(1) || m3.size(1) == 1),
              what, ": modulation ", m.sizes(), " does not broadcast to x ", x.sizes());
  TORCH_CHECK(m.scalar_type() == at::kFloat, what, ": modulation vectors must be fp32 (spec §2.8)");
  TORCH_CHECK(m.device() == x.device(), what, ": modulation is on ", m.device(), ", x on ", x.device());
}

#if defined(GALLOP_HAVE_CUDA)
ElementKind element_kind(at::ScalarType t) {
  switch (t) {
    case at::kBFloat16: return ElementKind::kBFloat16;
    case at::kHalf: return ElementKind::kFloat16;
    default: return ElementKind::kFloat32;
  }
}

bool float_kind(at::ScalarType t) { return t == at::kFloat || t == at::kBFloat16 || t == at::kHalf; }

bool aligned16(const at::Tensor& t) { return reinterpret_cast<uintptr_t>(t.data_ptr()) % 16 == 0; }

// Rows of x flatten to one row stride; the row is contiguous and 16-byte aligned.
bool rows_ok(const at::Tensor& t) {
  const int64_t esize = t.element_size();
  return t.dim() == 3 && t.stride(2) == 1 && t.stride(0) == t.size(1) * t.stride(1) && aligned16(t) &&
         (t.stride(1) * esize) % 16 == 0 && (t.size(2) * esize) % 16 == 0;
}

// A modulation vector the kernels can read with float4 loads: fp32, unit last stride, aligned.
struct ModView {
  const float* ptr;
  int64_t batch_stride;
  int64_t row_stride;
};
std::optional<ModView> mod_view(const at::Tensor& m, const at::Tensor& x) {
  const auto m3 = as_3d(m);
  if (m3.stride(2) != 1 || !aligned16(m3) || m3.stride(0) % 4 != 0 || m3.stride(1) % 4 != 0) return std::nullopt;
  return ModView{m3.data_ptr<float>(), m3.size(0) == 1 ? 0 : m3.stride(0), m3.size(1) == 1 ? 0 : m3.stride(1)};
}
#endif

}  // namespace

at::Tensor layer_norm_modulate_reference(const at::Tensor& x, const at::Tensor& shift, const at::Tensor& scale,
                                         double eps, std::optional<at::ScalarType> out_dtype) {
  check_modulation("layer_norm_modulate", x, shift);
  check_modulation("layer_norm_modulate", x, scale);
  // WanLayerNorm: LN in fp32, then `.type_as(x)`; then `.float() * (1 + scale) + shift`.
  auto h = at::layer_norm(x.to(at::kFloat), {x.size(2)}, {}, {}, eps).to(x.scalar_type());  // [B, L, C]
  auto out = h.to(at::kFloat) * (1 + as_3d(scale)) + as_3d(shift);                           // [B, L, C] fp32
  return out_dtype ? out.to(*out_dtype) : out;
}

namespace {
// The LayerNorm kernel into a new tensor of dtype odt when it applies (affine: weight = scale,
// bias = shift); nullopt otherwise.
std::optional<at::Tensor> layer_norm_cuda([[maybe_unused]] const at::Tensor& x,
                                          [[maybe_unused]] const at::Tensor& shift,
                                          [[maybe_unused]] const at::Tensor& scale, [[maybe_unused]] double eps,
                                          [[maybe_unused]] at::ScalarType odt, [[maybe_unused]] RowSchedule schedule,
                                          [[maybe_unused]] bool affine) {
#if defined(GALLOP_HAVE_CUDA)
  if (x.is_cuda() && float_kind(x.scalar_type()) && float_kind(odt) && rows_ok(x) && x.size(2) % 8 == 0 &&
      x.size(2) * x.element_size() <= 64 * 1024) {
    const auto sh = mod_view(shift, x);
    const auto sc = mod_view(scale, x);
    if (sh && sc) {
      const c10::cuda::CUDAGuard guard(x.device());
      auto out = at::empty(x.sizes(), x.options().dtype(odt));  // [B, L, C]
      mod::LayerNormModulateParams p;
      p.x = x.data_ptr();
      p.out = out.data_ptr();
      p.shift = sh->ptr;
      p.scale = sc->ptr;
      p.rows = x.size(0) * x.size(1);
      p.len = x.size(1);
      p.dim = static_cast<int32_t>(x.size(2));
      p.x_row_stride = x.stride(1);
      p.out_row_stride = out.stride(1);
      p.shift_batch_stride = sh->batch_stride, p.shift_row_stride = sh->row_stride;
      p.scale_batch_stride = sc->batch_stride, p.scale_row_stride = sc->row_stride;
      p.eps = static_cast<float>(eps);
      p.x_type = element_kind(x.scalar_type());
      p.out_type = element_kind(odt);
      p.schedule = schedule;
      p.affine = affine ? 1 : 0;
      if (out.numel() == 0) return out;
      C10_CUDA_CHECK(mod::launch_layer_norm_modulate(p, at::cuda::getCurrentCUDAStream()));
      C10_CUDA_KERNEL_LAUNCH_CHECK();
      return out;
    }
  }
#endif
  return std::nullopt;
}

// weight or bias [C] as a [1, C] modulation vector, after checking it.
at::Tensor affine_vector(const char* what, const at::Tensor& v, const at::Tensor& x) {
  TORCH_CHECK(v.dim() == 1 && x.dim() == 3 && v.size(0) == x.size(2), "layer_norm_affine: ", what, " ", v.sizes(),
              " must be [C] for x ", x.sizes());
  return v.to(x.device(), at::kFloat).contiguous().view({1, v.size(0)});
}
}  // namespace

at::Tensor layer_norm_modulate(const at::Tensor& x, const at::Tensor& shift, const at::Tensor& scale, double eps,
                               std::optional<at::ScalarType> out_dtype, FusedBackend backend, RowSchedule schedule) {
  check_modulation("layer_norm_modulate", x, shift);
  check_modulation("layer_norm_modulate", x, scale);
  if (backend != FusedBackend::Reference) {
    if (auto out = layer_norm_cuda(x, shift, scale, eps, out_dtype.value_or(at::kFloat), schedule, false)) return *out;
  }
  if (backend == FusedBackend::Cuda)
    throw std::invalid_argument("layer_norm_modulate: the CUDA kernel does not apply (needs CUDA tensors, 16-byte "
                                "aligned rows, C % 8 == 0, fp32 modulation with unit last stride)");
  return layer_norm_modulate_reference(x, shift, scale, eps, out_dtype);
}

at::Tensor layer_norm_affine_reference(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                                       double eps, std::optional<at::ScalarType> out_dtype) {
  const auto w = affine_vector("weight", weight, x), b = affine_vector("bias", bias, x);
  auto out = at::layer_norm(x.to(at::kFloat), {x.size(2)}, w.view({-1}), b.view({-1}), eps);  // [B, L, C] fp32
  return out_dtype ? out.to(*out_dtype) : out;
}

at::Tensor layer_norm_affine(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, double eps,
                             std::optional<at::ScalarType> out_dtype, FusedBackend backend, RowSchedule schedule) {
  const auto w = affine_vector("weight", weight, x), b = affine_vector("bias", bias, x);
  if (backend != FusedBackend::Reference) {
    if (auto out = layer_norm_cuda(x, b, w, eps, out_dtype.value_or(at::kFloat), schedule, true)) return *out;
  }
  if (backend == FusedBackend::Cuda)
    throw std::invalid_argument("layer_norm_affine: the CUDA kernel does not apply (needs CUDA tensors, 16-byte "
                                "aligned rows, C % 8 == 0)");
  return layer_norm_affine_reference(x, weight, bias, eps, out_dtype);
}

at::Tensor gated_residual_reference(const at::Tensor& x, const at::Tensor& y, const at::Tensor& gate) {
  check_modulation("gated_residual", x, gate);
  TORCH_CHECK(y.sizes() == x.sizes(), "gated_residual: y ", y.sizes(), " differs from x ", x.sizes());
  // Official: `x = x + y * e[2]` inside fp32 autocast: y * gate promotes to fp32, then the add.
  auto t = y.to(at::kFloat) * as_3d(gate);  // [B, L, C] fp32
  return x.to(at::kFloat) + t;
}

namespace {
#if defined(GALLOP_HAVE_CUDA)
// Runs the kernel into `out` (fp32, rows_ok) when it applies; false otherwise.
bool gated_residual_cuda(const at::Tensor& x, const at::Tensor& y, const at::Tensor& gate, at::Tensor& out) {
  if (!x.is_cuda() || !float_kind(x.scalar_type()) || !float_kind(y.scalar_type()) || !rows_ok(x) || !rows_ok(y) ||
      !rows_ok(out) || x.size(2) % 8 != 0)
    return false;
  const auto g = mod_view(gate, x);
  if (!g) return false;
  const c10::cuda::CUDAGuard guard(x.device());
  mod::GatedResidualParams p;
  p.x = x.data_ptr();
  p.y = y.data_ptr();
  p.gate = g->ptr;
  p.out = out.data_ptr<float>();
  p.rows = x.size(0) * x.size(1);
  p.len = x.size(1);
  p.dim = static_cast<int32_t>(x.size(2));
  p.x_row_stride = x.stride(1);
  p.y_row_stride = y.stride(1);
  p.out_row_stride = out.stride(1);
  p.gate_batch_stride = g->batch_stride;
  p.gate_row_stride = g->row_stride;
  p.x_type = element_kind(x.scalar_type());
  p.y_type = element_kind(y.scalar_type());
  if (out.numel() == 0) return true;
  C10_CUDA_CHECK(mod::launch_gated_residual(p, at::cuda::getCurrentCUDAStream()));
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  return true;
}
#endif
}  // namespace

at::Tensor gated_residual(const at::Tensor& x, const at::Tensor& y, const at::Tensor& gate, FusedBackend backend) {
  check_modulation("gated_residual", x, gate);
  TORCH_CHECK(y.sizes() == x.sizes(), "gated_residual: y ", y.sizes(), " differs from x ", x.sizes());
  TORCH_CHECK(y.device() == x.device(), "gated_residual: y and x are on different devices");
#if defined(GALLOP_HAVE_CUDA)
  if (backend != FusedBackend::Reference && x.is_cuda()) {
    auto out = at::empty(x.sizes(), x.options().dtype(at::kFloat));  // [B, L, C]
    if (gated_residual_cuda(x, y, gate, out)) return out;
  }
#endif
  if (backend == FusedBackend::Cuda)
    throw std::invalid_argument("gated_residual: the CUDA kernel does not apply (needs CUDA tensors, 16-byte "
                                "aligned rows, C % 8 == 0, fp32 gate with unit last stride)");
  return gated_residual_reference(x, y, gate);
}

void gated_residual_(at::Tensor& x, const at::Tensor& y, const at::Tensor& gate, FusedBackend backend) {
  TORCH_CHECK(x.scalar_type() == at::kFloat, "gated_residual_: x must be fp32 to be updated in place");
  check_modulation("gated_residual", x, gate);
  TORCH_CHECK(y.sizes() == x.sizes(), "gated_residual_: y ", y.sizes(), " differs from x ", x.sizes());
#if defined(GALLOP_HAVE_CUDA)
  if (backend != FusedBackend::Reference && x.is_cuda() && gated_residual_cuda(x, y, gate, x)) return;
#endif
  if (backend == FusedBackend::Cuda)
    throw std::invalid_argument("gated_residual_: the CUDA kernel does not apply");
  x.copy_(gated_residual_reference(x, y, gate));
}

}  // namespace gallop::kernels
