// MappedFile: mmap of a whole file, and zero-copy tensors over it.
#include "engine/weights/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "engine/core/error.h"

namespace gallop::engine {

std::shared_ptr<MappedFile> MappedFile::open(const std::filesystem::path& path) {
  std::shared_ptr<MappedFile> f(new MappedFile());
  f->path_ = path;
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
  f->size_ = static_cast<uint64_t>(st.st_size);
  if (f->size_ > 0) {
    void* p = ::mmap(nullptr, f->size_, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      int err = errno;
      ::close(fd);
      fail(ErrorKind::Io, path.string(), ": mmap failed: ", std::strerror(err));
    }
    f->data_ = static_cast<uint8_t*>(p);
  }
  ::close(fd);
  return f;
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(data_, size_);
}

at::DataPtr map_data_ptr(const std::shared_ptr<MappedFile>& file, uint64_t offset) {
  auto* keep = new std::shared_ptr<MappedFile>(file);
  return at::DataPtr(file->data() + offset, keep,
                     [](void* ctx) { delete static_cast<std::shared_ptr<MappedFile>*>(ctx); }, at::kCPU);
}

at::Tensor map_tensor(const std::shared_ptr<MappedFile>& file, uint64_t offset, at::ScalarType dtype,
                      at::IntArrayRef sizes, at::IntArrayRef strides, uint64_t span_bytes) {
  auto options = at::TensorOptions().dtype(dtype).device(at::kCPU);
  uint8_t* ptr = file->data() + offset;
  if (span_bytes == 0) return at::empty(sizes, options);
  if (reinterpret_cast<uintptr_t>(ptr) % c10::elementSize(dtype) != 0) {
    // Misaligned for its element type: view an aligned copy of the bytes instead.
    at::Tensor bytes = at::empty({static_cast<int64_t>(span_bytes)}, at::kByte);  // [span_bytes]
    std::memcpy(bytes.data_ptr(), ptr, span_bytes);
    return at::from_blob(
        bytes.data_ptr(), sizes, strides, [bytes](void*) {}, options);
  }
  std::shared_ptr<MappedFile> keep = file;
  return at::from_blob(
      ptr, sizes, strides, [keep](void*) mutable { keep.reset(); }, options);
}

}  // namespace gallop::engine
