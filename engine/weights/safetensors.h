// safetensors: memory-mapped reader (zero-copy CPU tensors) and a writer.
//
// Format: 8-byte little-endian header length N, N bytes of JSON, then the data section.
// The JSON maps tensor names to {"dtype", "shape", "data_offsets": [begin, end]} (offsets relative
// to the data section) plus an optional "__metadata__" object of string -> string.
// Everything in the header is validated before any tensor is handed out
// (parse_safetensors_header, in safetensors_header.cpp, which a libFuzzer target exercises).
// Sharded checkpoints (*.safetensors.index.json) are read by sharded_safetensors.h.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gallop::engine {

// Headers larger than this are refused (the same cap as the reference Rust implementation).
constexpr uint64_t kMaxSafetensorsHeaderBytes = 100'000'000;

struct TensorEntry {
  std::string name;
  at::ScalarType dtype;
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // byte range in the data section: [begin, end)
  uint64_t end = 0;
};

struct SafetensorsHeader {
  std::vector<TensorEntry> entries;  // in data-offset order
  std::map<std::string, std::string> metadata;
};

// Parses and validates a header: valid JSON object without repeated names, known dtypes,
// non-negative shapes whose element count fits int64, shape x element size == byte range, ranges
// inside a data section of `data_size` bytes and not overlapping, metadata values all strings.
// `context` (usually the file path) prefixes every error message. Throws gallop::Error(Format).
SafetensorsHeader parse_safetensors_header(std::string_view json, uint64_t data_size,
                                           const std::string& context);

// Parses a whole file image: the 8-byte little-endian header length (checked against the
// buffer and kMaxSafetensorsHeaderBytes), then the header. Sets *data_offset to where the data
// section starts (8 + header length). Throws gallop::Error(Format).
SafetensorsHeader parse_safetensors_file_image(const uint8_t* bytes, uint64_t size, const std::string& context,
                                               uint64_t* data_offset);

// Name of a dtype in the safetensors vocabulary ("BF16", "F32", ...), and back.
// safetensors_dtype_name throws gallop::Error(Unsupported) for a dtype without a name;
// find_safetensors_dtype_name returns nullptr.
const char* safetensors_dtype_name(at::ScalarType dtype);
const char* find_safetensors_dtype_name(at::ScalarType dtype);
bool safetensors_dtype_from_name(std::string_view name, at::ScalarType* out);

class MappedFile;  // mapped_file.h

class SafetensorsFile {
 public:
  // Memory-maps and validates the file. Throws gallop::Error (NotFound, Io, Format).
  static std::shared_ptr<const SafetensorsFile> open(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return path_; }
  const std::vector<TensorEntry>& entries() const { return header_.entries; }
  const std::map<std::string, std::string>& metadata() const { return header_.metadata; }
  const TensorEntry* find(std::string_view name) const;
  bool contains(std::string_view name) const { return find(name) != nullptr; }

  // A CPU tensor that views the mapped bytes (copy-on-write: in-place ops never touch the
  // file) and keeps the mapping alive. Throws gallop::Error(NotFound) for an unknown name.
  at::Tensor tensor(std::string_view name) const;

 private:
  SafetensorsFile() = default;
  std::filesystem::path path_;
  std::shared_ptr<MappedFile> map_;
  uint64_t data_offset_ = 0;
  SafetensorsHeader header_;
  std::map<std::string, size_t, std::less<>> index_;
};

// Writes tensors (any device / layout; copied to contiguous CPU) in the given order, with the
// header padded to 8 bytes. Writes beside the target and renames, so a failure leaves no file.
void write_safetensors(const std::filesystem::path& path,
                       const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace gallop::engine
