// MappedFile: a read-only view of a whole file through mmap, shared by the checkpoint readers
// (safetensors and torch.save zip archives), and zero-copy CPU tensors over it.
//
// The mapping is private and writable: an accidental in-place op on a tensor that views it
// copies the touched page instead of crashing, and never reaches the file. Every tensor made by
// map_tensor keeps the mapping alive.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <vector>

namespace gallop::engine {

class MappedFile {
 public:
  // Throws gallop::Error: NotFound (no such file), Io (not a regular file, open/mmap failed).
  static std::shared_ptr<MappedFile> open(const std::filesystem::path& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::filesystem::path& path() const { return path_; }
  uint8_t* data() const { return data_; }
  uint64_t size() const { return size_; }

 private:
  MappedFile() = default;
  std::filesystem::path path_;
  uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
};

// A CPU tensor of `dtype` with the given sizes and strides over the bytes starting at `offset`
// (the caller has checked that every element lies inside the file). When the address is not
// aligned for the element type, the bytes are copied into a fresh tensor instead.
at::Tensor map_tensor(const std::shared_ptr<MappedFile>& file, uint64_t offset, at::ScalarType dtype,
                      at::IntArrayRef sizes, at::IntArrayRef strides, uint64_t span_bytes);

// A CPU DataPtr over [offset, offset + n) of the mapping that keeps it alive.
at::DataPtr map_data_ptr(const std::shared_ptr<MappedFile>& file, uint64_t offset);

}  // namespace gallop::engine
