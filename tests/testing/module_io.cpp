#include "tests/testing/module_io.h"

#include <sstream>
#include <stdexcept>

namespace gallop::testing {

void load_parameters(torch::nn::Module& module, const engine::SafetensorsFile& file, const std::string& prefix) {
  std::ostringstream problems;
  torch::NoGradGuard no_grad;
  auto assign = [&](const std::string& name, at::Tensor& target) {
    const std::string key = prefix + name;
    if (!file.contains(key)) {
      problems << " missing '" << key << "';";
      return;
    }
    at::Tensor src = file.tensor(key);
    if (!src.sizes().equals(target.sizes())) {
      problems << " '" << key << "' has shape " << src.sizes() << ", module wants " << target.sizes() << ";";
      return;
    }
    target.set_data(src.to(target.options()).clone());
  };
  for (auto& p : module.named_parameters(/*recurse=*/true)) assign(p.key(), p.value());
  for (auto& b : module.named_buffers(/*recurse=*/true)) assign(b.key(), b.value());
  const std::string msg = problems.str();
  if (!msg.empty()) throw std::runtime_error(file.path().string() + ":" + msg);
}

}  // namespace gallop::testing
