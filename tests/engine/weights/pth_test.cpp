// .pth reader: the fixtures written by tools/reference/make_pth_fixtures.py (torch.save of
// known tensors) against good_expected.safetensors, the same tensors saved by the safetensors
// package. Exact comparison (no tolerance): reading must be lossless. Each bad fixture must be
// refused with a Format error naming the file and the problem.
#include <gtest/gtest.h>

#include "engine/core/error.h"
#include "engine/weights/pth.h"
#include "engine/weights/safetensors.h"
#include "tests/testing/tensor_compare.h"
#include "tests/testing/test_env.h"

using gallop::Error;
using gallop::ErrorKind;
using gallop::engine::PthFile;
using gallop::engine::SafetensorsFile;
using gallop::testing::data_path;
using gallop::testing::Identical;

namespace {

void expect_matches_expected(const PthFile& pth) {
  auto expected = SafetensorsFile::open(data_path("weights/good_expected.safetensors"));
  ASSERT_EQ(pth.tensors().size(), expected->entries().size());
  for (const auto& e : expected->entries()) {
    ASSERT_TRUE(pth.contains(e.name)) << e.name;
    EXPECT_TRUE(Identical(pth.tensor(e.name).contiguous(), expected->tensor(e.name))) << e.name;
  }
}

std::string open_error(const std::string& fixture, ErrorKind kind = ErrorKind::Format) {
  const auto path = data_path("weights/" + fixture);
  try {
    PthFile::open(path);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path.string()), std::string::npos) << "message does not name the file: " << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "message is not one line: " << msg;
    return msg;
  }
  ADD_FAILURE() << fixture << " was accepted";
  return "";
}

}  // namespace

TEST(Pth, ReadsEveryDtypeAndViews) {
  auto pth = PthFile::open(data_path("weights/good.pth"));
  EXPECT_EQ(pth->wrapper(), "");
  // Dict order is kept.
  EXPECT_EQ(pth->tensors().front().first, "linear.weight");
  EXPECT_EQ(pth->tensor("norm.weight").scalar_type(), at::kBFloat16);
  EXPECT_EQ(pth->tensor("conv.weight").scalar_type(), at::kHalf);
  EXPECT_EQ(pth->tensor("position_ids").scalar_type(), at::kLong);
  // The views come back as views, with their strides and offsets.
  EXPECT_FALSE(pth->tensor("linear.weight_t").is_contiguous());
  EXPECT_EQ(pth->tensor("slice").storage_offset(), 6);
  EXPECT_EQ(pth->tensor("slice").strides(), at::IntArrayRef({6, 2}));
  expect_matches_expected(*pth);
}

TEST(Pth, UnwrapsStateDict) {
  auto pth = PthFile::open(data_path("weights/wrapped.pth"));
  EXPECT_EQ(pth->wrapper(), "state_dict");
  expect_matches_expected(*pth);
}

TEST(Pth, RefusesWhatIsNotAStateDict) {
  EXPECT_NE(open_error("bad_list.pth").find("holds a list"), std::string::npos);
  EXPECT_NE(open_error("bad_int_value.pth").find("value for 'num_steps' is an int"), std::string::npos);
  EXPECT_NE(open_error("bad_module.pth").find("torch.nn.modules.linear"), std::string::npos);
  EXPECT_NE(open_error("bad_truncated.pth").find("cannot read"), std::string::npos);
  EXPECT_NE(open_error("bad_legacy.pth").find("legacy"), std::string::npos);
  EXPECT_NE(open_error("good_expected.safetensors").find("no zip signature"), std::string::npos);
}

TEST(Pth, MissingFileIsNotFound) {
  try {
    PthFile::open("/nonexistent/model.pth");
    FAIL() << "opened a missing file";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::NotFound);
  }
}
