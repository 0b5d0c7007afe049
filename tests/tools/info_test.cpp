// `gallop info` through the real binary: on good files and folders it exits 0 and prints the
// expected lines (compared as exact substrings of stdout, values computed from the tensors the
// test wrote); on each bad file it exits 1 with exactly one stderr line, "gallop: error: ",
// naming the file and the problem, with nothing on stdout, no crash and no hang.
#include <gtest/gtest.h>

#include <fstream>

#include "engine/weights/safetensors.h"
#include "tests/testing/test_env.h"

using gallop::engine::write_safetensors;
using gallop::testing::CommandResult;
using gallop::testing::data_path;
using gallop::testing::gallop_binary;
using gallop::testing::run_command;
using gallop::testing::TempDir;
namespace fs = std::filesystem;

namespace {

// The binary gets this long before the test calls it a hang.
constexpr int kTimeoutSeconds = 60;

CommandResult info(const std::string& args) {
  return run_command("timeout " + std::to_string(kTimeoutSeconds) + " '" + gallop_binary().string() + "' info " + args);
}

std::string quoted(const fs::path& p) { return "'" + p.string() + "'"; }

void write_raw(const fs::path& p, const std::string& bytes) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary).write(bytes.data(), bytes.size());
}

// A ComfyUI-style single DiT file: official keys behind model.diffusion_model. (spec §7.8).
void write_prefixed_dit(const fs::path& p) {
  const std::string pre = "model.diffusion_model.";
  write_safetensors(p, {{pre + "patch_embedding.weight", at::zeros({256, 16, 1, 2, 2})},
                        {pre + "blocks.0.self_attn.q.weight", at::zeros({256, 256}, at::kBFloat16)},
                        {pre + "blocks.0.ffn.0.weight", at::zeros({32, 256}, at::kBFloat16)},
                        {pre + "head.head.weight", at::zeros({64, 256})}});
}

void expect_has(const std::string& out, const std::string& line) {
  EXPECT_NE(out.find(line), std::string::npos) << "missing '" << line << "' in:\n" << out;
}

// Exit 1, one stderr line naming `file` and containing `problem`, empty stdout.
void expect_one_line_error(const fs::path& file, const std::string& problem) {
  SCOPED_TRACE(file.string());
  const CommandResult r = info(quoted(file));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.out, "");
  ASSERT_FALSE(r.err.empty());
  EXPECT_EQ(r.err.rfind("gallop: error: ", 0), 0u) << r.err;
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "more than one line:\n" << r.err;
  EXPECT_NE(r.err.find(file.string()), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(problem), std::string::npos) << r.err;
}

}  // namespace

TEST(GallopInfo, SingleFileWithPrefix) {
  TempDir dir;
  write_prefixed_dit(dir / "wan.safetensors");
  const CommandResult r = info(quoted(dir / "wan.safetensors"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  expect_has(r.out, "layout: single file\n");
  expect_has(r.out, "dit: present\n");
  expect_has(r.out, "  format: safetensors\n");
  expect_has(r.out, "  dialect: official\n");
  expect_has(r.out, "  key prefix: model.diffusion_model.\n");
  expect_has(r.out, "  config (inferred from shapes): {");
  expect_has(r.out, "\"dim\":256");
  expect_has(r.out, "\"num_layers\":1");
  expect_has(r.out, "\"model_type\":\"t2v\"");
  expect_has(r.out, "  tensors: 4\n");
  expect_has(r.out, "  dtypes: F32 x 2 BF16 x 2\n");
  const int64_t params = 256 * 16 * 4 + 256 * 256 + 32 * 256 + 64 * 256;
  const int64_t bytes = (256 * 16 * 4 + 64 * 256) * 4 + (256 * 256 + 32 * 256) * 2;
  expect_has(r.out, "  parameters: " + std::to_string(params) + "\n");
  expect_has(r.out, "  bytes: " + std::to_string(bytes) + " (");
  EXPECT_EQ(r.out.find("patch_embedding.weight  F32"), std::string::npos) << "tensors listed without --tensors";

  const CommandResult t = info(quoted(dir / "wan.safetensors") + " --tensors");
  ASSERT_EQ(t.exit_code, 0) << t.err;
  expect_has(t.out, "    model.diffusion_model.patch_embedding.weight  F32  [256, 16, 1, 2, 2]\n");
  expect_has(t.out, "    model.diffusion_model.blocks.0.ffn.0.weight  BF16  [32, 256]\n");
}

TEST(GallopInfo, PthFile) {
  const CommandResult r = info(quoted(data_path("weights/good.pth")) + " --tensors");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  expect_has(r.out, "unknown: present");
  expect_has(r.out, "  format: torch.save (.pth)\n");
  expect_has(r.out, "  tensors: 8\n");
  expect_has(r.out, "    linear.weight_t  F32  [3, 4]\n");
  expect_has(r.out, "    norm.weight  BF16  [5]\n");
}

TEST(GallopInfo, OfficialFolderReportsMissingComponents) {
  TempDir dir;
  write_raw(dir / "config.json", R"({"model_type": "t2v", "dim": 256, "num_layers": 1})");
  write_prefixed_dit(dir / "diffusion_pytorch_model.safetensors");
  const CommandResult r = info(quoted(dir.path()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  expect_has(r.out, "layout: official Wan2.1 folder\n");
  expect_has(r.out, "dit: present\n");
  expect_has(r.out, "  config (" + (dir / "config.json").string() + "): {\"dim\":256,");
  expect_has(r.out, "text_encoder: missing (no " + (dir / "models_t5_umt5-xxl-enc-bf16.pth").string() + ")\n");
  expect_has(r.out, "vae: missing (no ");
  expect_has(r.out, "tokenizer: missing (no ");
  expect_has(r.out, "image_encoder: missing (no ");
}

TEST(GallopInfo, EachBadFileIsOneErrorLine) {
  TempDir dir;
  auto header = [](const std::string& json) {
    std::string s(8, '\0');
    for (int i = 0; i < 8; ++i) s[i] = static_cast<char>(static_cast<uint64_t>(json.size()) >> (8 * i));
    return s + json;
  };
  write_raw(dir / "truncated.safetensors", "abc");
  write_raw(dir / "huge_header.safetensors", std::string("\x00\x00\x40\x06\x00\x00\x00\x00", 8) + "{}");
  write_raw(dir / "not_json.safetensors", header("{oops"));
  write_raw(dir / "past_end.safetensors", header(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})"));
  write_raw(dir / "shards/model.safetensors.index.json", R"({"weight_map": {"a": "gone.safetensors"}})");

  expect_one_line_error(dir / "truncated.safetensors", "truncated safetensors file");
  expect_one_line_error(dir / "huge_header.safetensors", "exceeds the 100000000-byte limit");
  expect_one_line_error(dir / "not_json.safetensors", "not valid JSON");
  expect_one_line_error(dir / "past_end.safetensors", "past the end of the data section");
  expect_one_line_error(dir / "shards/model.safetensors.index.json", "shard gone.safetensors is listed");
  expect_one_line_error(dir / "absent.safetensors", "no such file");
  expect_one_line_error(data_path("weights/bad_list.pth"), "holds a list");
  expect_one_line_error(data_path("weights/bad_int_value.pth"), "value for 'num_steps' is an int");
  expect_one_line_error(data_path("weights/bad_module.pth"), "class torch.nn.modules.linear.Linear");
  expect_one_line_error(data_path("weights/bad_truncated.pth"), "cannot read as a torch.save archive");
  expect_one_line_error(data_path("weights/bad_legacy.pth"), "legacy (pre-1.6, non-zip) torch.save format");
}

TEST(GallopInfo, MissingPathArgumentIsAUsageError) {
  const CommandResult r = run_command("'" + gallop_binary().string() + "' info");
  EXPECT_EQ(r.exit_code, 2) << r.err;
}
