#include "engine/weights/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "engine/core/error.h"
#include "engine/core/atomic_file.h"

namespace gallop::engine {

// ---- memory mapping ------------------------------------------------------------------------------

class MappedFile {
 public:
  explicit MappedFile(const std::filesystem::path& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) fail(ErrorKind::NotFound, path.string(), ": no such file");
      fail(ErrorKind::Io, path.string(), ": cannot open: ", std::strerror(errno));
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      fail(ErrorKind::Io, path.string(), ": not a regular file");
    }
    size_ = static_cast<uint64_t>(st.st_size);
    if (size_ > 0) {
      // Private + writable: an accidental in-place op on a loaded tensor copies the page
      // instead of crashing, and never reaches the file.
      void* p = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) {
        int err = errno;
        ::close(fd);
        fail(ErrorKind::Io, path.string(), ": mmap failed: ", std::strerror(err));
      }
      data_ = static_cast<uint8_t*>(p);
    }
    ::close(fd);
  }
  ~MappedFile() {
    if (data_) ::munmap(data_, size_);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  uint8_t* data() const { return data_; }
  uint64_t size() const { return size_; }

 private:
  uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
};

// ---- dtypes -------------------------------------------------------------------------------------

namespace {

struct DTypeName {
  const char* name;
  at::ScalarType type;
};

constexpr DTypeName kDTypes[] = {
    {"F64", at::kDouble},         {"F32", at::kFloat},          {"F16", at::kHalf},
    {"BF16", at::kBFloat16},      {"F8_E4M3", at::kFloat8_e4m3fn}, {"F8_E5M2", at::kFloat8_e5m2},
    {"I64", at::kLong},           {"I32", at::kInt},            {"I16", at::kShort},
    {"I8", at::kChar},            {"U8", at::kByte},            {"U16", at::kUInt16},
    {"U32", at::kUInt32},         {"U64", at::kUInt64},         {"BOOL", at::kBool},
};

}  // namespace

const char* safetensors_dtype_name(at::ScalarType dtype) {
  for (const auto& d : kDTypes)
    if (d.type == dtype) return d.name;
  fail(ErrorKind::Unsupported, "dtype ", c10::toString(dtype), " has no safetensors name");
}

bool safetensors_dtype_from_name(std::string_view name, at::ScalarType* out) {
  for (const auto& d : kDTypes) {
    if (name == d.name) {
      *out = d.type;
      return true;
    }
  }
  return false;
}

// ---- header parsing -----------------------------------------------------------------------------

namespace {

bool get_u64(const nlohmann::json& j, uint64_t* out) {
  if (j.is_number_unsigned()) {
    *out = j.get<uint64_t>();
    return true;
  }
  if (j.is_number_integer() && j.get<int64_t>() >= 0) {
    *out = static_cast<uint64_t>(j.get<int64_t>());
    return true;
  }
  return false;
}

}  // namespace

SafetensorsHeader parse_safetensors_header(std::string_view text, uint64_t data_size,
                                           const std::string& context) {
  nlohmann::json j = nlohmann::json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) fail(ErrorKind::Format, context, ": safetensors header is not valid JSON");
  if (!j.is_object()) fail(ErrorKind::Format, context, ": safetensors header is not a JSON object");

  SafetensorsHeader h;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& name = it.key();
    const nlohmann::json& v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object()) fail(ErrorKind::Format, context, ": __metadata__ is not a JSON object");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string())
          fail(ErrorKind::Format, context, ": __metadata__ value for '", m.key(), "' is not a string");
        h.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    const std::string where = context + ": tensor '" + name + "'";
    if (!v.is_object()) fail(ErrorKind::Format, where, " is not a JSON object");
    auto dt = v.find("dtype");
    auto sh = v.find("shape");
    auto off = v.find("data_offsets");
    if (dt == v.end() || !dt->is_string()) fail(ErrorKind::Format, where, " has no string 'dtype'");
    if (sh == v.end() || !sh->is_array()) fail(ErrorKind::Format, where, " has no 'shape' array");
    if (off == v.end() || !off->is_array() || off->size() != 2)
      fail(ErrorKind::Format, where, " has no 'data_offsets' pair");

    TensorEntry e;
    e.name = name;
    const std::string dtype_name = dt->get<std::string>();
    if (!safetensors_dtype_from_name(dtype_name, &e.dtype))
      fail(ErrorKind::Format, where, " has unknown dtype '", dtype_name, "'");

    // numel x element size, checked for overflow.
    uint64_t bytes = c10::elementSize(e.dtype);
    for (const auto& d : *sh) {
      uint64_t dim = 0;
      if (!get_u64(d, &dim) || dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        fail(ErrorKind::Format, where, " has a shape entry that is not a non-negative integer");
      e.shape.push_back(static_cast<int64_t>(dim));
      if (dim != 0 && bytes > std::numeric_limits<uint64_t>::max() / dim)
        fail(ErrorKind::Format, where, " has a shape whose byte size overflows");
      bytes *= dim;
    }
    if (!get_u64((*off)[0], &e.begin) || !get_u64((*off)[1], &e.end) || e.begin > e.end)
      fail(ErrorKind::Format, where, " has invalid data_offsets");
    if (e.end - e.begin != bytes)
      fail(ErrorKind::Format, where, ": shape x dtype size is ", bytes, " bytes but data_offsets span ",
           e.end - e.begin);
    if (e.end > data_size)
      fail(ErrorKind::Format, where, ": data_offsets [", e.begin, ", ", e.end,
           ") run past the end of the data section (", data_size, " bytes)");
    h.entries.push_back(std::move(e));
  }

  std::sort(h.entries.begin(), h.entries.end(), [](const TensorEntry& a, const TensorEntry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  for (size_t i = 1; i < h.entries.size(); ++i) {
    const auto& prev = h.entries[i - 1];
    const auto& cur = h.entries[i];
    // Zero-byte tensors may share an offset with anything.
    if (cur.begin < prev.end && cur.begin != cur.end)
      fail(ErrorKind::Format, context, ": tensors '", prev.name, "' and '", cur.name,
           "' have overlapping data ranges");
  }
  return h;
}

// ---- file ---------------------------------------------------------------------------------------

std::shared_ptr<const SafetensorsFile> SafetensorsFile::open(const std::filesystem::path& path) {
  auto map = std::make_shared<MappedFile>(path);
  const std::string ctx = path.string();
  if (map->size() < 8)
    fail(ErrorKind::Format, ctx, ": truncated safetensors file (", map->size(), " bytes, need at least 8)");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | map->data()[i];
  if (n > kMaxSafetensorsHeaderBytes)
    fail(ErrorKind::Format, ctx, ": safetensors header length ", n, " exceeds the ",
         kMaxSafetensorsHeaderBytes, "-byte limit");
  if (n > map->size() - 8)
    fail(ErrorKind::Format, ctx, ": safetensors header length ", n, " runs past the end of the file (",
         map->size(), " bytes)");
  if (n < 2) fail(ErrorKind::Format, ctx, ": safetensors header is too short to be JSON");

  std::shared_ptr<SafetensorsFile> f(new SafetensorsFile());
  f->path_ = path;
  f->map_ = map;
  f->data_offset_ = 8 + n;
  std::string_view json(reinterpret_cast<const char*>(map->data() + 8), n);
  f->header_ = parse_safetensors_header(json, map->size() - f->data_offset_, ctx);
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
  auto options = at::TensorOptions().dtype(e->dtype).device(at::kCPU);
  uint8_t* ptr = map_->data() + data_offset_ + e->begin;
  if (e->begin == e->end) return at::empty(e->shape, options);
  if (reinterpret_cast<uintptr_t>(ptr) % c10::elementSize(e->dtype) != 0) {
    // Misaligned for its element type: hand out an aligned copy instead of a view.
    at::Tensor t = at::empty(e->shape, options);
    std::memcpy(t.data_ptr(), ptr, e->end - e->begin);
    return t;
  }
  std::shared_ptr<MappedFile> keep = map_;
  return at::from_blob(
      ptr, e->shape, [keep](void*) mutable { keep.reset(); }, options);
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
