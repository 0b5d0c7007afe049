// Sharded safetensors checkpoints: a `*.safetensors.index.json` ({"metadata": {...},
// "weight_map": {tensor name: shard file name}}) beside its shard files, or a plain list of
// shards without an index. Presents the union of the shards as one name -> tensor table.
//
// Validated at open: the index is a JSON object whose weight_map maps names to plain file names
// in the index's folder; every shard exists and is a valid safetensors file; every tensor is in
// the shard the index maps it to, no tensor appears in two shards, and no shard holds a tensor
// the index does not list. Every violation is a gallop::Error naming the index and the shard.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/weights/safetensors.h"

namespace gallop::engine {

class ShardedSafetensors {
 public:
  // Opens an index file and its shards. Throws gallop::Error: NotFound (index or a shard
  // missing), Format (bad JSON, bad mapping, duplicated or misplaced tensors), Io.
  static std::shared_ptr<const ShardedSafetensors> open_index(const std::filesystem::path& index_json);
  // The union of the given safetensors files (no index; one file is fine). A tensor name present
  // in two of them is a gallop::Error(Format).
  static std::shared_ptr<const ShardedSafetensors> open_files(const std::vector<std::filesystem::path>& files);

  // The index file, or the single file / first shard when there is no index.
  const std::filesystem::path& path() const { return path_; }
  const std::vector<std::shared_ptr<const SafetensorsFile>>& shards() const { return shards_; }
  // The index's "metadata" (non-string values as JSON text), or the metadata of a single file.
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  struct Location {
    const SafetensorsFile* file;
    const TensorEntry* entry;
  };
  // nullptr members when the name is unknown.
  Location find(std::string_view name) const;
  // Throws gallop::Error(NotFound) for an unknown name.
  at::Tensor tensor(std::string_view name) const;

 private:
  ShardedSafetensors() = default;
  void add_shard(std::shared_ptr<const SafetensorsFile> shard, const std::string& context);

  std::filesystem::path path_;
  std::vector<std::shared_ptr<const SafetensorsFile>> shards_;
  std::map<std::string, std::string> metadata_;
  std::map<std::string, size_t, std::less<>> shard_of_;  // tensor name -> index into shards_
};

}  // namespace gallop::engine
