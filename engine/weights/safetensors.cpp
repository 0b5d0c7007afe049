// safetensors files: open (mmap + validated header, see safetensors_header.cpp), zero-copy
// tensors, and the writer.
#include "engine/weights/safetensors.h"

#include <nlohmann/json.hpp>

#include "engine/core/atomic_file.h"
#include "engine/core/error.h"
#include "engine/weights/mapped_file.h"

#include <c10/util/strides.h>

namespace gallop::engine {

// ---- file ---------------------------------------------------------------------------------------

std::shared_ptr<const SafetensorsFile> SafetensorsFile::open(const std::filesystem::path& path) {
  auto map = MappedFile::open(path);
  std::shared_ptr<SafetensorsFile> f(new SafetensorsFile());
  f->path_ = path;
  f->map_ = map;
  f->header_ = parse_safetensors_file_image(map->data(), map->size(), path.string(), &f->data_offset_);
  for (size_t i = 0; i < f->header_.entries.size(); ++i) f->index_.emplace(f->header_.entries[i].name, i);
  return f;
}

const TensorEntry* SafetensorsFile::find(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &header_.entries[it->second];
}

at::Tensor SafetensorsFile::tensor(std::string_view name) const {
  const TensorEntry* e = find(name);
  if (!e) fail(ErrorKind::NotFound, path_.string(), ": no tensor named '", name, "'");
  return map_tensor(map_, data_offset_ + e->begin, e->dtype, e->shape, c10::contiguous_strides(e->shape),
                    e->end - e->begin);
}

// ---- writer -------------------------------------------------------------------------------------

void write_safetensors(const std::filesystem::path& path,
                       const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<at::Tensor> cpu;
  cpu.reserve(tensors.size());
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    GALLOP_CHECK(name != "__metadata__", InvalidArgument, "tensor name '__metadata__' is reserved");
    GALLOP_CHECK(!header.contains(name), InvalidArgument, "duplicate tensor name '", name, "'");
    at::Tensor c = t.detach().to(at::kCPU).contiguous();
    const uint64_t bytes = c.numel() * c.element_size();
    header[name] = {{"dtype", safetensors_dtype_name(c.scalar_type())},
                    {"shape", c.sizes().vec()},
                    {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    cpu.push_back(std::move(c));
  }
  std::string text = header.dump();
  while (text.size() % 8 != 0) text.push_back(' ');

  AtomicFileWriter out(path);
  uint8_t len[8];
  uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>(n >> (8 * i));
  out.write(len, 8);
  out.write(text.data(), text.size());
  for (const auto& c : cpu) out.write(c.data_ptr(), c.numel() * c.element_size());
  out.commit();
}

}  // namespace gallop::engine
