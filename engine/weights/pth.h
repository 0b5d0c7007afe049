// .pth state dicts: zip-format torch.save archives (what the official Wan2.1 VAE and umT5
// checkpoints are). The archive is read with LibTorch's zip reader
// (caffe2::serialize::PyTorchStreamReader); data.pkl with gallop's restricted unpickler
// (pickle_reader.h: LibTorch's own cannot rebuild OrderedDicts), which builds only plain
// containers and tensors and never runs Python code. HF `pytorch_model.bin` files are the same
// format.
//
// Accepted: a dict / OrderedDict of string -> tensor, or such a dict under a "state_dict" or
// "model" key of a top-level dict (a training checkpoint; its other entries are ignored).
// Refused with a gallop::Error(Format) naming the file and what was found: anything else at the
// top level, non-tensor values, pickled Python objects (a whole nn.Module), the legacy pre-1.6
// non-zip format, truncated or corrupt archives, views that reach outside their storage.
//
// Tensor bytes are not read at open: storages are zero-copy views of the memory-mapped archive
// (torch.save stores records uncompressed and 64-byte aligned), so pages are read when a tensor
// is first touched. A saved view keeps its strides: tensor() may return a non-contiguous tensor,
// and two names may share one storage.
#pragma once

#include <ATen/ATen.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gallop::engine {

class MappedFile;  // mapped_file.h

class PthFile {
 public:
  // Throws gallop::Error: NotFound, Io, Format (see above), Unsupported (big-endian archive).
  static std::shared_ptr<const PthFile> open(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return path_; }
  // (name, tensor) in the order the dict holds them.
  const std::vector<std::pair<std::string, at::Tensor>>& tensors() const { return tensors_; }
  // The wrapper key the state dict was found under ("state_dict", "model"), or "" for none.
  const std::string& wrapper() const { return wrapper_; }
  const at::Tensor* find(std::string_view name) const;
  bool contains(std::string_view name) const { return find(name) != nullptr; }
  // Throws gallop::Error(NotFound) for an unknown name.
  at::Tensor tensor(std::string_view name) const;

 private:
  PthFile() = default;
  std::filesystem::path path_;
  std::shared_ptr<MappedFile> map_;
  std::string wrapper_;
  std::vector<std::pair<std::string, at::Tensor>> tensors_;
  std::map<std::string, size_t, std::less<>> index_;
};

}  // namespace gallop::engine
