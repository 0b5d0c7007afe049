// Attention: the one entry point through which every model calls attention.
//
//   out = softmax(q·kᵀ · scale) · v        per batch and head, non-causal,
//   keys j >= k_lens[b] are masked out (padding) when k_lens is given.
//
// Layout: q [B, Lq, H, D], k and v [B, Lk, H, D] (any strides with a unit last dim), result
// [B, Lq, H, D] in q's dtype. Accumulation is fp32 whatever the input dtype.
//
// The backend is chosen by name (`--attention`), so kernels can be compared side by side;
// `Auto` picks the fastest one known to apply on this device and shape, and every backend falls
// back to the reference when it does not apply (wrong device, dtype, head dim, ...).
#pragma once

#include <ATen/ATen.h>

#include <optional>
#include <string>

#include "kernels/attention/attention_params.h"

namespace gallop::kernels {

enum class AttentionBackend {
  Auto,       // best known for the device and shape (see attention_select)
  Reference,  // plain ATen math in fp32 (the ground truth; any device, any dtype)
  Sdpa,       // at::scaled_dot_product_attention with ATen's own backend choice
  Cudnn,      // ATen SDPA restricted to cuDNN's fused attention
  Flash,      // ATen SDPA restricted to its flash backend (FlashAttention-2)
  Gallop,     // gallop's own CUDA kernels (kernels/attention/*.cu)
};

const char* attention_backend_name(AttentionBackend b);
// Parses "auto", "reference", "sdpa", "cudnn", "flash", "gallop"; throws std::invalid_argument.
AttentionBackend parse_attention_backend(const std::string& name);

struct AttentionOptions {
  AttentionBackend backend = AttentionBackend::Auto;
  std::optional<double> scale;  // default 1/sqrt(D)
  // With backend Gallop: exactly this kernel instead of the one `gallop` means on this device (on
  // Hopper, ws-p2-c2-split at head dim 128 and the tile table's kernel at 64; to compare kernel
  // variants in whole-model runs); when it does not apply, the same fallback as `gallop`.
  std::optional<attn::GallopKernel> gallop_kernel;
};

// Parses a backend name (parse_attention_backend) or one of gallop's kernel names
// ("gallop-sm80", "gallop-sm90-ws-p2", ...: gallop_kernel_name); throws std::invalid_argument.
AttentionOptions parse_attention_options(const std::string& name);
// The name parse_attention_options reads back.
std::string attention_options_name(const AttentionOptions& options);

// q [B, Lq, H, D], k/v [B, Lk, H, D], k_lens [B] (int32/int64, CPU or same device) or undefined.
at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                     const at::Tensor& k_lens = {}, const AttentionOptions& options = {});

// The fp32 ATen reference (also the fallback). Same contract as attention().
at::Tensor attention_reference(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                               const at::Tensor& k_lens, double scale);

// What attention() runs for these inputs and options, after `Auto` is resolved and fallbacks are
// applied: "reference", "sdpa", "cudnn", "flash", "gallop-sm80", "gallop-sm90-ws-p2", ...
// (a fallback that is only discovered when cuDNN or flash rejects the call shows as that backend).
std::string attention_implementation(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                     const at::Tensor& k_lens = {}, const AttentionOptions& options = {});

// ---- gallop's own kernels, one by one (tests and benchmarks) ----
const char* gallop_kernel_name(attn::GallopKernel kernel);
// Every kernel name, comma-separated ("gallop-sm80, gallop-sm90, ..."), for help and error texts.
std::string gallop_kernel_names();
// True when `kernel` is compiled into this build for the current CUDA device and handles this
// dtype (bf16/fp16) and head dim (64/128).
bool gallop_kernel_available(attn::GallopKernel kernel, c10::ScalarType dtype, int64_t head_dim);
// Runs exactly `kernel` (CUDA tensors, same contract as attention()); throws std::invalid_argument
// when it is not available for these inputs. With `profile`, also returns the profiling kernel's
// counters there (gallop-sm90-ws-p2-prof: int64 [attn::kProfileCounters] on the device, see
// attn::ProfileCounter; undefined for every other kernel).
at::Tensor attention_gallop(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& k_lens,
                            double scale, attn::GallopKernel kernel, at::Tensor* profile = nullptr);

}  // namespace gallop::kernels
