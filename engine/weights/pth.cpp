// .pth reader: the zip archive through caffe2's PyTorchStreamReader over the mapped file,
// data.pkl through the restricted unpickler (pickle_reader.h), storages as views of the mapping,
// and the bounds checks that make every tensor safe to read.
#include "engine/weights/pth.h"

#include <caffe2/serialize/inline_container.h>
#include <caffe2/serialize/read_adapter_interface.h>

#include <algorithm>
#include <cstring>

#include "engine/core/error.h"
#include "engine/weights/mapped_file.h"
#include "engine/weights/pickle_reader.h"
#include "engine/weights/printable.h"

namespace gallop::engine {

namespace {

// The 14 bytes the legacy (pre-1.6) format starts with: pickle protocol 2, then the magic number
// 0x1950a86a20f9469cfc6c as a LONG1.
constexpr uint8_t kLegacyMagic[] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
constexpr uint8_t kZipMagic[] = {'P', 'K', 0x03, 0x04};
// A zip local file header: the compression method is the u16 at this offset (0 = stored).
constexpr uint64_t kZipMethodOffset = 8;
// Mapped storages must be aligned at least this much to be used in place (torch.save aligns
// records to 64 bytes).
constexpr uintptr_t kStorageAlignment = 64;

class MappedReadAdapter final : public caffe2::serialize::ReadAdapterInterface {
 public:
  explicit MappedReadAdapter(std::shared_ptr<MappedFile> file) : file_(std::move(file)) {}
  size_t size() const override { return file_->size(); }
  size_t read(uint64_t pos, void* buf, size_t n, const char* what) const override {
    if (pos >= file_->size()) return 0;
    const size_t m = static_cast<size_t>(std::min<uint64_t>(n, file_->size() - pos));
    std::memcpy(buf, file_->data() + pos, m);
    return m;
  }

 private:
  std::shared_ptr<MappedFile> file_;
};

// First line of a c10::Error message, without the C++ stack trace.
std::string short_message(const c10::Error& e) {
  std::string m = e.what_without_backtrace();
  const size_t nl = m.find('\n');
  if (nl != std::string::npos) m.resize(nl);
  return m;
}

// The bytes of storage record data/<key>: a view of the mapping when stored uncompressed and
// aligned, else a private copy.
at::DataPtr storage_bytes(caffe2::serialize::PyTorchStreamReader& reader, const std::shared_ptr<MappedFile>& map,
                          const std::string& key, uint64_t need, const std::string& ctx) {
  const std::string name = "data/" + key;
  GALLOP_CHECK(reader.hasRecord(name), Format, ctx, ": storage record '", printable(name), "' is missing from the archive");
  const uint64_t n = reader.getRecordSize(name);
  GALLOP_CHECK(need <= n, Format, ctx, ": storage '", printable(key), "' needs ", need, " bytes but its record holds ", n);
  const uint64_t size = map->size();
  const uint64_t header = reader.getRecordHeaderOffset(name);
  const uint64_t offset = reader.getRecordOffset(name);
  GALLOP_CHECK(header <= size && size - header >= kZipMethodOffset + 2 && offset <= size && n <= size - offset, Format,
               ctx, ": storage record '", printable(name), "' runs past the end of the file");
  const uint8_t* method = map->data() + header + kZipMethodOffset;
  if (method[0] == 0 && method[1] == 0 && reinterpret_cast<uintptr_t>(map->data() + offset) % kStorageAlignment == 0)
    return map_data_ptr(map, offset);
  auto [copy, copy_size] = reader.getRecord(name);
  GALLOP_CHECK(copy_size == n, Format, ctx, ": storage record '", printable(name), "' has inconsistent sizes");
  return std::move(copy);
}

// Every element of the view must lie inside the storage, with non-negative strides.
void check_view(const std::string& where, const PickledTensor& t, uint64_t storage_bytes) {
  GALLOP_CHECK(t.storage_offset >= 0, Format, where, " has a negative storage offset");
  for (size_t d = 0; d < t.size.size(); ++d)
    GALLOP_CHECK(t.size[d] >= 0 && t.stride[d] >= 0, Format, where, " has a negative size or stride");
  for (int64_t n : t.size)
    if (n == 0) return;  // empty: reads nothing
  const uint64_t elements = storage_bytes / c10::elementSize(t.dtype);  // whole elements in the storage
  uint64_t last = static_cast<uint64_t>(t.storage_offset);              // index of the last element read
  GALLOP_CHECK(last < elements, Format, where, " starts past the end of its storage (", storage_bytes, " bytes)");
  for (size_t d = 0; d < t.size.size(); ++d) {
    const uint64_t extent = static_cast<uint64_t>(t.size[d] - 1);
    const uint64_t stride = static_cast<uint64_t>(t.stride[d]);
    if (extent == 0 || stride == 0) continue;
    GALLOP_CHECK(extent <= (elements - 1 - last) / stride, Format, where, " reaches past the end of its storage (",
                 storage_bytes, " bytes)");
    last += extent * stride;
  }
}

}  // namespace

std::shared_ptr<const PthFile> PthFile::open(const std::filesystem::path& path) {
  const std::string ctx = path.string();
  auto map = MappedFile::open(path);
  const uint8_t* bytes = map->data();
  const uint64_t size = map->size();
  if (size >= sizeof(kLegacyMagic) && std::memcmp(bytes, kLegacyMagic, sizeof(kLegacyMagic)) == 0)
    fail(ErrorKind::Format, ctx,
         ": legacy (pre-1.6, non-zip) torch.save format is not supported; re-save it with a current torch.save "
         "or convert it to safetensors");
  if (size < sizeof(kZipMagic) || std::memcmp(bytes, kZipMagic, sizeof(kZipMagic)) != 0)
    fail(ErrorKind::Format, ctx, ": not a zip-format torch.save checkpoint (no zip signature at the start)");

  std::shared_ptr<PthFile> f(new PthFile());
  f->path_ = path;
  f->map_ = map;
  try {
    caffe2::serialize::PyTorchStreamReader reader(std::make_shared<MappedReadAdapter>(map));
    if (!reader.hasRecord("data.pkl"))
      fail(ErrorKind::Format, ctx, ": zip archive has no data.pkl; not a torch.save checkpoint");
    if (reader.hasRecord("byteorder")) {
      auto [order, order_size] = reader.getRecord("byteorder");
      const std::string s(static_cast<const char*>(order.get()), order_size);
      GALLOP_CHECK(s == "little", Unsupported, ctx, ": byte order '", s, "' is not supported (only little-endian)");
    }
    auto [pickle, pickle_size] = reader.getRecord("data.pkl");
    const PickledStateDict sd =
        parse_state_dict_pickle(std::string_view(static_cast<const char*>(pickle.get()), pickle_size), ctx);
    f->wrapper_ = sd.wrapper;

    // One at::Storage per record, shared by every view of it.
    std::vector<at::Storage> storages(sd.storages.size());
    std::vector<uint64_t> storage_nbytes(sd.storages.size());
    for (size_t i = 0; i < sd.storages.size(); ++i) {
      const PickledStorage& s = sd.storages[i];
      const uint64_t item = c10::elementSize(s.dtype);
      GALLOP_CHECK(static_cast<uint64_t>(s.numel) <= size / item, Format, ctx, ": storage '", printable(s.key),
                   "' is larger than the file");
      storage_nbytes[i] = static_cast<uint64_t>(s.numel) * item;
      at::DataPtr data = storage_nbytes[i] > 0 ? storage_bytes(reader, map, s.key, storage_nbytes[i], ctx)
                                                : at::DataPtr(nullptr, at::kCPU);
      storages[i] = at::Storage(at::Storage::use_byte_size_t(), storage_nbytes[i], std::move(data),
                                /*allocator=*/nullptr, /*resizable=*/false);
    }
    for (const auto& [name, t] : sd.tensors) {
      check_view(ctx + ": tensor '" + printable(name) + "'", t, storage_nbytes[t.storage]);
      at::Tensor tensor = at::empty({0}, at::TensorOptions().dtype(t.dtype).device(at::kCPU));  // [t.size] after set_
      tensor.set_(storages[t.storage], t.storage_offset, t.size, t.stride);
      f->index_.emplace(name, f->tensors_.size());
      f->tensors_.emplace_back(name, std::move(tensor));
    }
  } catch (const gallop::Error&) {
    throw;
  } catch (const c10::Error& e) {
    fail(ErrorKind::Format, ctx, ": cannot read as a torch.save archive: ", short_message(e));
  }
  return f;
}

const at::Tensor* PthFile::find(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second].second;
}

at::Tensor PthFile::tensor(std::string_view name) const {
  const at::Tensor* t = find(name);
  if (!t) fail(ErrorKind::NotFound, path_.string(), ": no tensor named '", name, "'");
  return t->alias();  // a fresh view: callers cannot change the stored tensor's metadata
}

}  // namespace gallop::engine
