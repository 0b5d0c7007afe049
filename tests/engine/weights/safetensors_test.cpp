// safetensors reader/writer: round trips for every dtype, and corrupt files each rejected with
// their own message. Compares bytes exactly (no tolerance: storage must be lossless).
#include <gtest/gtest.h>

#include <fstream>

#include "engine/core/error.h"
#include "engine/weights/safetensors.h"
#include "tests/testing/tensor_compare.h"
#include "tests/testing/test_env.h"

using gallop::Error;
using gallop::ErrorKind;
using gallop::engine::SafetensorsFile;
using gallop::engine::write_safetensors;
using gallop::testing::Identical;
using gallop::testing::TempDir;

namespace {

at::Tensor sample(at::ScalarType dtype, std::vector<int64_t> shape) {
  auto g = at::make_generator<at::CPUGeneratorImpl>(1234);
  at::Tensor f = at::randn(shape, g, at::kFloat) * 10;
  if (dtype == at::kBool) return f.gt(0);
  if (dtype == at::kByte || dtype == at::kUInt16 || dtype == at::kUInt32 || dtype == at::kUInt64)
    return f.abs().to(at::kLong).to(dtype);
  return f.to(dtype);
}

void write_raw(const std::filesystem::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary).write(bytes.data(), bytes.size());
}

std::string with_header(const std::string& json, size_t data_bytes) {
  std::string s(8, '\0');
  uint64_t n = json.size();
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>(n >> (8 * i));
  return s + json + std::string(data_bytes, '\0');
}

// Opens `bytes` as a file and returns the error message (fails the test when it opens).
std::string open_error(const std::string& bytes) {
  TempDir dir;
  write_raw(dir / "bad.safetensors", bytes);
  try {
    SafetensorsFile::open(dir / "bad.safetensors");
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Format) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "corrupt file was accepted";
  return "";
}

}  // namespace

TEST(Safetensors, RoundTripEveryDtype) {
  TempDir dir;
  const std::vector<at::ScalarType> dtypes = {
      at::kDouble, at::kFloat,  at::kHalf,  at::kBFloat16, at::kFloat8_e4m3fn, at::kFloat8_e5m2,
      at::kLong,   at::kInt,    at::kShort, at::kChar,     at::kByte,          at::kBool};
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (auto dt : dtypes) tensors.emplace_back(std::string("t_") + c10::toString(dt), sample(dt, {3, 5, 7}));
  tensors.emplace_back("scalar", at::tensor(3.5f));
  tensors.emplace_back("empty", at::empty({0, 4}, at::kFloat));
  write_safetensors(dir / "a.safetensors", tensors, {{"format", "pt"}, {"note", "hello"}});

  auto f = SafetensorsFile::open(dir / "a.safetensors");
  EXPECT_EQ(f->entries().size(), tensors.size());
  EXPECT_EQ(f->metadata().at("note"), "hello");
  for (const auto& [name, t] : tensors) {
    ASSERT_TRUE(f->contains(name)) << name;
    EXPECT_TRUE(Identical(f->tensor(name), t)) << name;
  }
}

TEST(Safetensors, TensorsOutliveTheFileObject) {
  TempDir dir;
  at::Tensor t = sample(at::kFloat, {64, 64});
  write_safetensors(dir / "a.safetensors", {{"w", t}});
  at::Tensor loaded;
  {
    auto f = SafetensorsFile::open(dir / "a.safetensors");
    loaded = f->tensor("w");
  }
  EXPECT_TRUE(Identical(loaded, t));
  loaded.add_(1.0);  // copy-on-write mapping: allowed, and the file is unchanged
  EXPECT_TRUE(Identical(SafetensorsFile::open(dir / "a.safetensors")->tensor("w"), t));
}

TEST(Safetensors, RejectsCorruptFiles) {
  EXPECT_NE(open_error("abc").find("truncated"), std::string::npos);
  std::string huge(8, '\0');
  huge[0] = 0x00; huge[1] = 0x00; huge[2] = 0x40; huge[3] = 0x06;  // 104,857,600 bytes claimed
  EXPECT_NE(open_error(huge + "{}").find("exceeds"), std::string::npos);
  std::string past = with_header("{}", 0);
  past[0] = 100;
  EXPECT_NE(open_error(past).find("past the end of the file"), std::string::npos);
  EXPECT_NE(open_error(with_header("{not json", 0)).find("not valid JSON"), std::string::npos);
  EXPECT_NE(open_error(with_header(R"({"a":{"dtype":"F7","shape":[1],"data_offsets":[0,4]}})", 4))
                .find("unknown dtype 'F7'"), std::string::npos);
  EXPECT_NE(open_error(with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", 8))
                .find("shape x dtype size is 8 bytes but data_offsets span 4"), std::string::npos);
  EXPECT_NE(open_error(with_header(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8))
                .find("past the end of the data section"), std::string::npos);
  EXPECT_NE(open_error(with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                   R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 16))
                .find("overlapping"), std::string::npos);
}

TEST(Safetensors, MissingFileIsNotFound) {
  try {
    SafetensorsFile::open("/nonexistent/x.safetensors");
    FAIL() << "opened a missing file";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::NotFound);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/x.safetensors"), std::string::npos);
  }
}
