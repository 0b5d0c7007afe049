// load_module: map checkpoint keys to module names, check everything, then copy tensor by tensor.
#include "engine/weights/loader.h"

#include <map>
#include <sstream>

#include "engine/core/error.h"
#include "engine/weights/printable.h"

namespace gallop::engine {

namespace {

// At most this many names are listed per group in the mismatch error.
constexpr size_t kListedPerGroup = 20;

std::string shape_string(at::IntArrayRef shape) {
  std::ostringstream os;
  os << shape;
  return os.str();
}

void append_group(std::ostringstream& os, const char* what, const std::vector<std::string>& items) {
  if (items.empty()) return;
  os << "; " << items.size() << " " << what << ": ";
  for (size_t i = 0; i < items.size() && i < kListedPerGroup; ++i) os << (i ? ", " : "") << items[i];
  if (items.size() > kListedPerGroup) os << ", ... (" << items.size() - kListedPerGroup << " more)";
}

}  // namespace

KeyMapper identity_mapper() {
  return [](const std::string& key) -> std::optional<std::string> { return key; };
}

KeyMapper strip_prefix_mapper(const std::string& prefix) {
  if (prefix.empty()) return identity_mapper();
  return [prefix](const std::string& key) -> std::optional<std::string> {
    if (key.compare(0, prefix.size(), prefix) != 0) return std::nullopt;
    return key.substr(prefix.size());
  };
}

KeyMapper compose_mappers(KeyMapper first, KeyMapper second) {
  return [first = std::move(first), second = std::move(second)](const std::string& key) -> std::optional<std::string> {
    auto mid = first(key);
    if (!mid) return std::nullopt;
    return second(*mid);
  };
}

LoadReport load_module(torch::nn::Module& module, const TensorSource& source, const KeyMapper& mapper,
                       const LoadOptions& options) {
  std::map<std::string, at::Tensor> targets;  // module name -> parameter or buffer (any shape)
  for (auto& p : module.named_parameters(/*recurse=*/true)) targets.emplace(p.key(), p.value());
  for (auto& b : module.named_buffers(/*recurse=*/true)) targets.emplace(b.key(), b.value());

  // ---- check ----
  LoadReport report;
  std::map<std::string, std::string> key_of;  // module name -> checkpoint key
  std::vector<std::string> missing, unexpected, mismatched;
  for (const auto& key : source.keys()) {
    const std::optional<std::string> name = mapper(key);
    if (!name) {
      report.ignored.push_back(key);
      continue;
    }
    const std::string shown =
        *name == key ? "'" + printable(key) + "'" : "'" + printable(key) + "' (as '" + printable(*name) + "')";
    auto target = targets.find(*name);
    if (target == targets.end()) {
      unexpected.push_back(shown);
      continue;
    }
    const TensorInfo& info = source.info(key);
    auto [slot, inserted] = key_of.emplace(*name, key);
    if (!inserted) {
      const TensorInfo& first = source.info(slot->second);
      if (first.shape == info.shape && first.dtype == info.dtype) {
        report.aliases.push_back(key);
      } else {
        mismatched.push_back(shown + " and '" + printable(slot->second) + "' both fill '" + printable(*name) +
                             "' but differ");
      }
      continue;
    }
    const at::Tensor& t = target->second;
    if (!t.sizes().equals(info.shape)) {
      mismatched.push_back(shown + " is " + shape_string(info.shape) + " in the checkpoint but " +
                           shape_string(t.sizes()) + " in the module");
    } else if (at::isFloatingType(t.scalar_type()) != at::isFloatingType(info.dtype)) {
      mismatched.push_back(shown + " is " + dtype_label(info.dtype) + " in the checkpoint but " +
                           dtype_label(t.scalar_type()) + " in the module");
    }
  }
  for (const auto& [name, t] : targets)
    if (!key_of.count(name) && !(options.may_be_missing && options.may_be_missing(name)))
      missing.push_back("'" + name + "'");
  if (!missing.empty() || !unexpected.empty() || !mismatched.empty()) {
    std::ostringstream os;
    os << source.path().string() << ": checkpoint does not match the module";
    append_group(os, "missing", missing);
    append_group(os, "unexpected", unexpected);
    append_group(os, "mis-shaped", mismatched);
    fail(ErrorKind::Format, os.str());
  }

  // ---- copy, one tensor at a time ----
  torch::NoGradGuard no_grad;
  for (const auto& [name, key] : key_of) {
    at::Tensor& target = targets.at(name);      // [shape of the entry], checked above
    const at::Tensor src = source.tensor(key);  // [same], CPU, possibly a view of the mapped file
    at::ScalarType dtype = src.scalar_type();
    if (at::isFloatingType(dtype)) {
      std::optional<at::ScalarType> wanted = options.dtype_override ? options.dtype_override(name) : std::nullopt;
      if (!wanted) wanted = options.dtype;
      if (wanted) dtype = *wanted;
    }
    if (target.scalar_type() == dtype && target.device() == options.device && target.is_contiguous()) {
      target.copy_(src);  // in place: no new allocation
    } else {
      at::Tensor dst = at::empty(src.sizes(), at::TensorOptions().dtype(dtype).device(options.device));  // [same]
      dst.copy_(src);
      target.set_data(dst);
    }
    report.loaded += 1;
    report.bytes += static_cast<uint64_t>(target.numel()) * target.element_size();
  }
  return report;
}

}  // namespace gallop::engine
