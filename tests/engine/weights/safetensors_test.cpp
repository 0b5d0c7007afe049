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

// Each corrupt file is refused with a Format error that names the file and its own problem.
TEST(Safetensors, RejectsCorruptFiles) {
  auto length_only = [](uint64_t n) {
    std::string s(8, '\0');
    for (int i = 0; i < 8; ++i) s[i] = static_cast<char>(n >> (8 * i));
    return s;
  };
  const std::string f32_8 = R"("dtype":"F32","shape":[2],"data_offsets":[0,8])";
  struct Case {
    const char* what;
    std::string bytes;
    const char* message;
  };
  const Case cases[] = {
      {"shorter than the length field", "abc", "truncated safetensors file (3 bytes"},
      {"empty header", length_only(0), "too short to be JSON"},
      {"header length past the end", length_only(100) + "{}", "header length 100 runs past the end of the file"},
      {"100 MB header claim", length_only(104'857'600) + "{}", "exceeds the 100000000-byte limit"},
      {"invalid JSON", with_header("{not json", 0), "not valid JSON"},
      {"JSON array", with_header("[1,2]", 0), "header is not a JSON object"},
      {"tensor not an object", with_header(R"({"a":3})", 0), "tensor 'a' is not a JSON object"},
      {"no dtype", with_header(R"({"a":{"shape":[2],"data_offsets":[0,8]}})", 8), "has no string 'dtype'"},
      {"no shape", with_header(R"({"a":{"dtype":"F32","data_offsets":[0,8]}})", 8), "has no 'shape' array"},
      {"three offsets", with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4,8]}})", 8),
       "has no 'data_offsets' pair"},
      {"unknown dtype", with_header(R"({"a":{"dtype":"F7","shape":[1],"data_offsets":[0,4]}})", 4), "unknown dtype 'F7'"},
      {"negative dim", with_header(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8),
       "shape entry that is not a non-negative integer"},
      {"fractional dim", with_header(R"({"a":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}})", 8),
       "shape entry that is not a non-negative integer"},
      {"element count overflow",
       with_header(R"({"a":{"dtype":"F32","shape":[0,4294967296,4294967296],"data_offsets":[0,0]}})", 0),
       "element count overflows"},
      {"begin after end", with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", 8),
       "invalid data_offsets"},
      {"shape/size mismatch", with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", 8),
       "shape x dtype size is 8 bytes but data_offsets span 4"},
      {"offsets past the end", with_header(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8),
       "data_offsets [0, 16) run past the end of the data section (8 bytes)"},
      {"overlapping ranges",
       with_header(R"({"a":{)" + f32_8 + R"(},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 16),
       "tensors 'a' and 'b' have overlapping data ranges"},
      {"overlap behind an empty tensor",
       with_header(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                   R"("e":{"dtype":"F32","shape":[0],"data_offsets":[4,4]},)"
                   R"("b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})", 16),
       "tensors 'a' and 'b' have overlapping data ranges"},
      {"metadata not an object", with_header(R"({"__metadata__":[1]})", 0), "__metadata__ is not a JSON object"},
      {"metadata value not a string", with_header(R"({"__metadata__":{"n":1}})", 0),
       "__metadata__ value for 'n' is not a string"},
      {"control characters in a name", with_header(R"({"a\nb":{"dtype":"F7","shape":[1],"data_offsets":[0,4]}})", 4),
       "tensor 'a?b' has unknown dtype 'F7'"},
      {"repeated name", with_header(R"({"a":{)" + f32_8 + R"(},"a":{)" + f32_8 + "}}", 8),
       "names 'a' more than once"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    const std::string msg = open_error(c.bytes);
    EXPECT_NE(msg.find(c.message), std::string::npos) << msg;
    EXPECT_NE(msg.find("bad.safetensors"), std::string::npos) << "does not name the file: " << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "not one line: " << msg;
  }
}

// Zero-byte tensors may share offsets with anything; the file is still valid.
TEST(Safetensors, AcceptsEmptyTensorsInsideOtherRanges) {
  TempDir dir;
  write_raw(dir / "ok.safetensors",
            with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                        R"("e":{"dtype":"BF16","shape":[3,0],"data_offsets":[4,4]}})", 8));
  auto f = SafetensorsFile::open(dir / "ok.safetensors");
  EXPECT_EQ(f->tensor("e").sizes(), at::IntArrayRef({3, 0}));
  EXPECT_EQ(f->tensor("a").numel(), 2);
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
