// TensorSource: one read-only view of a checkpoint's tensors, whatever the file format: a single
// .safetensors file, a sharded set (index json, or a list of shards), or a .pth state dict.
// Names map to (dtype, shape) known at open, and to CPU tensors read lazily (zero-copy views of
// the memory-mapped files: pages are read when the tensor is first touched).
//
// Tensors handed out share memory with the mapping: treat them as read-only (copy before
// modifying in place). A .pth tensor may be a non-contiguous view; safetensors ones never are.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace gallop::engine {

class ShardedSafetensors;
class PthFile;

enum class SourceFormat { Safetensors, ShardedSafetensors, Pth };
const char* source_format_name(SourceFormat format);
// The safetensors name of a dtype ("BF16", "F32", ...), or torch's name for dtypes safetensors
// has no name for.
std::string dtype_label(at::ScalarType dtype);

struct TensorInfo {
  at::ScalarType dtype;
  std::vector<int64_t> shape;
  int64_t numel() const;
  uint64_t nbytes() const;
};

class TensorSource {
 public:
  // Opens by content and name: a `*.safetensors.index.json` is a sharded index; a file that
  // starts like a zip archive or a pickle, or is named *.pth / *.pt / *.bin / *.ckpt, is read as a
  // torch.save state dict; anything else as safetensors. Throws gallop::Error (NotFound for a
  // missing path, InvalidArgument for a folder, Format/Io from the readers).
  static std::shared_ptr<const TensorSource> open(const std::filesystem::path& path);
  // Several safetensors shards without an index (one name in two files is an error).
  static std::shared_ptr<const TensorSource> open_shards(const std::vector<std::filesystem::path>& shards);

  const std::filesystem::path& path() const { return path_; }
  SourceFormat format() const { return format_; }
  // Every file the tensors come from (the shards of an index, not the index itself).
  const std::vector<std::filesystem::path>& files() const { return files_; }
  // File metadata: safetensors __metadata__, or the index's "metadata"; empty for .pth.
  const std::map<std::string, std::string>& metadata() const;

  // Tensor names, sorted.
  const std::vector<std::string>& keys() const { return keys_; }
  bool contains(std::string_view name) const { return info_.find(name) != info_.end(); }
  // Throws gallop::Error(NotFound) for an unknown name.
  const TensorInfo& info(std::string_view name) const;
  // A CPU tensor (see the file comment). Throws gallop::Error(NotFound) for an unknown name.
  at::Tensor tensor(std::string_view name) const;

  // Totals over all tensors: elements, bytes, and the number of tensors of each dtype.
  int64_t parameter_count() const { return parameter_count_; }
  uint64_t byte_size() const { return byte_size_; }
  const std::map<at::ScalarType, int64_t>& dtype_histogram() const { return dtype_histogram_; }

 private:
  TensorSource() = default;
  void add(const std::string& name, at::ScalarType dtype, std::vector<int64_t> shape);
  void finish();

  std::filesystem::path path_;
  SourceFormat format_ = SourceFormat::Safetensors;
  std::vector<std::filesystem::path> files_;
  std::shared_ptr<const ShardedSafetensors> safetensors_;
  std::shared_ptr<const PthFile> pth_;
  std::vector<std::string> keys_;
  std::map<std::string, TensorInfo, std::less<>> info_;
  int64_t parameter_count_ = 0;
  uint64_t byte_size_ = 0;
  std::map<at::ScalarType, int64_t> dtype_histogram_;
};

}  // namespace gallop::engine
