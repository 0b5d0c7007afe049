// The restricted unpickler: the data.pkl of good.pth (written by torch.save, see
// tools/reference/make_pth_fixtures.py) parses to the tensors' exact sizes, strides, offsets and
// storages; hand-written malicious or unsupported pickles are each refused with their own
// Format error (exact substrings, no tolerance involved).
#include <caffe2/serialize/inline_container.h>
#include <gtest/gtest.h>

#include "engine/core/error.h"
#include "engine/weights/pickle_reader.h"
#include "tests/testing/test_env.h"

using gallop::Error;
using gallop::ErrorKind;
using gallop::engine::parse_state_dict_pickle;
using gallop::testing::data_path;
using namespace std::string_literals;

namespace {

std::string parse_error(const std::string& pickle) {
  try {
    parse_state_dict_pickle(pickle, "ctx");
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Format) << e.what();
    EXPECT_EQ(std::string(e.what()).rfind("ctx: ", 0), 0u) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "accepted";
  return "";
}

}  // namespace

TEST(PickleReader, ParsesTorchSaveStateDict) {
  caffe2::serialize::PyTorchStreamReader reader(data_path("weights/good.pth").string());
  auto [data, size] = reader.getRecord("data.pkl");
  const auto sd = parse_state_dict_pickle(std::string_view(static_cast<const char*>(data.get()), size), "good.pth");
  EXPECT_EQ(sd.wrapper, "");
  ASSERT_EQ(sd.tensors.size(), 8u);
  const auto& [n0, w] = sd.tensors[0];
  const auto& [n1, wt] = sd.tensors[1];
  EXPECT_EQ(n0, "linear.weight");
  EXPECT_EQ(w.size, (std::vector<int64_t>{4, 3}));
  EXPECT_EQ(w.stride, (std::vector<int64_t>{3, 1}));
  EXPECT_EQ(n1, "linear.weight_t");
  EXPECT_EQ(wt.stride, (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(wt.storage, w.storage);  // a view shares its base's storage
  const auto& storage = sd.storages[w.storage];
  EXPECT_EQ(storage.dtype, at::kFloat);
  EXPECT_EQ(storage.numel, 12);
  const auto& slice = sd.tensors[5].second;
  EXPECT_EQ(sd.tensors[5].first, "slice");
  EXPECT_EQ(slice.storage_offset, 6);
  EXPECT_EQ(slice.stride, (std::vector<int64_t>{6, 2}));
  EXPECT_EQ(sd.storages[slice.storage].numel, 30);  // the whole unsaved 5 x 6 tensor
  EXPECT_EQ(sd.tensors[2].second.dtype, at::kBFloat16);
}

TEST(PickleReader, RefusesEachBadPickle) {
  std::string deep = "\x80\x02N";
  for (int i = 0; i < 70; ++i) deep += "\x85";  // TUPLE1 around the previous value
  deep += ".";
  struct Case {
    const char* what;
    std::string pickle;
    const char* message;
  };
  const Case cases[] = {
      {"empty", ""s, "truncated"},
      {"None", "\x80\x02N."s, "the file holds None"},
      {"list", "\x80\x02]q\x00."s, "the file holds a list"},
      {"int value", "\x80\x02}(X\x01\x00\x00\x00" "aK\x01u."s, "the value for 'a' is an int"},
      {"unknown class", "\x80\x02" "c__main__\nNet\nq\x00."s, "pickled Python object of class __main__.Net"},
      {"stack global", "\x80\x04\x8c\x08" "builtins\x8c\x04" "eval\x93."s, "class builtins.eval"},
      {"unknown opcode", "\x80\x02\xff"s, "unsupported pickle opcode 0xff"},
      {"unset memo", "\x80\x02h\x05."s, "memo lookup of an unset index"},
      {"list inside itself", "\x80\x02]2a."s, "a container inside itself"},
      {"mutation after nesting", "\x80\x02]q\x00]h\x00" "a0Na."s, "modifies a container after nesting it"},
      {"nesting too deep", deep, "nested deeper than 64"},
      {"stack underflow", "\x80\x02" "a."s, "stack underflow"},
      {"extra values at STOP", "\x80\x02NN."s, "stack not empty at STOP"},
      {"string past the end", "\x80\x02X\xff\xff\xff\xff"s, "truncated"},
      {"long wider than 64 bits", "\x80\x02\x8a\x09"s, "integer wider than 64 bits"},
      {"unknown persistent id", "\x80\x02(X\x01\x00\x00\x00xtQ."s, "unknown persistent id"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    const std::string msg = parse_error(c.pickle);
    EXPECT_NE(msg.find(c.message), std::string::npos) << msg;
  }
}
