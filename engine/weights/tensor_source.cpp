// TensorSource: format detection and the name -> (dtype, shape, tensor) table over the readers.
#include "engine/weights/tensor_source.h"

#include <algorithm>
#include <fstream>

#include "engine/core/error.h"
#include "engine/weights/pth.h"
#include "engine/weights/safetensors.h"
#include "engine/weights/sharded_safetensors.h"

namespace gallop::engine {

namespace fs = std::filesystem;

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// True when the file looks like a torch.save archive (zip or legacy pickle) by name or content.
bool looks_like_pth(const fs::path& path) {
  const std::string ext = path.extension().string();
  if (ext == ".pth" || ext == ".pt" || ext == ".bin" || ext == ".ckpt") return true;
  char head[2] = {0, 0};
  std::ifstream in(path, std::ios::binary);
  in.read(head, 2);
  if (in.gcount() < 2) return false;
  return (head[0] == 'P' && head[1] == 'K') || static_cast<uint8_t>(head[0]) == 0x80;
}

}  // namespace

const char* source_format_name(SourceFormat format) {
  switch (format) {
    case SourceFormat::Safetensors: return "safetensors";
    case SourceFormat::ShardedSafetensors: return "sharded safetensors";
    case SourceFormat::Pth: return "torch.save (.pth)";
  }
  return "?";
}

std::string dtype_label(at::ScalarType dtype) {
  const char* name = find_safetensors_dtype_name(dtype);
  return name ? name : c10::toString(dtype);
}

int64_t TensorInfo::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

uint64_t TensorInfo::nbytes() const { return static_cast<uint64_t>(numel()) * c10::elementSize(dtype); }

std::shared_ptr<const TensorSource> TensorSource::open(const fs::path& path) {
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (!fs::exists(status)) fail(ErrorKind::NotFound, path.string(), ": no such file");
  if (fs::is_directory(status))
    fail(ErrorKind::InvalidArgument, path.string(), ": is a folder, not a checkpoint file");

  std::shared_ptr<TensorSource> s(new TensorSource());
  s->path_ = path;
  if (ends_with(path.filename().string(), ".index.json")) {
    s->format_ = SourceFormat::ShardedSafetensors;
    s->safetensors_ = ShardedSafetensors::open_index(path);
  } else if (looks_like_pth(path)) {
    s->format_ = SourceFormat::Pth;
    s->pth_ = PthFile::open(path);
    s->files_ = {path};
    for (const auto& [name, t] : s->pth_->tensors()) s->add(name, t.scalar_type(), t.sizes().vec());
  } else {
    s->format_ = SourceFormat::Safetensors;
    s->safetensors_ = ShardedSafetensors::open_files({path});
  }
  s->finish();
  return s;
}

std::shared_ptr<const TensorSource> TensorSource::open_shards(const std::vector<fs::path>& shards) {
  if (shards.size() == 1) return open(shards.front());
  std::shared_ptr<TensorSource> s(new TensorSource());
  s->format_ = SourceFormat::ShardedSafetensors;
  s->safetensors_ = ShardedSafetensors::open_files(shards);
  s->path_ = shards.front().parent_path();
  s->finish();
  return s;
}

void TensorSource::add(const std::string& name, at::ScalarType dtype, std::vector<int64_t> shape) {
  TensorInfo info{dtype, std::move(shape)};
  parameter_count_ += info.numel();
  byte_size_ += info.nbytes();
  dtype_histogram_[dtype] += 1;
  keys_.push_back(name);
  info_.emplace(name, std::move(info));
}

void TensorSource::finish() {
  if (safetensors_) {
    for (const auto& shard : safetensors_->shards()) {
      files_.push_back(shard->path());
      for (const auto& e : shard->entries()) add(e.name, e.dtype, e.shape);
    }
  }
  std::sort(keys_.begin(), keys_.end());
}

const std::map<std::string, std::string>& TensorSource::metadata() const {
  static const std::map<std::string, std::string> kNone;
  return safetensors_ ? safetensors_->metadata() : kNone;
}

const TensorInfo& TensorSource::info(std::string_view name) const {
  auto it = info_.find(name);
  if (it == info_.end()) fail(ErrorKind::NotFound, path_.string(), ": no tensor named '", name, "'");
  return it->second;
}

at::Tensor TensorSource::tensor(std::string_view name) const {
  if (!contains(name)) fail(ErrorKind::NotFound, path_.string(), ": no tensor named '", name, "'");
  return pth_ ? pth_->tensor(name) : safetensors_->tensor(name);
}

}  // namespace gallop::engine
