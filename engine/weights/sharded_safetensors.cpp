// Sharded safetensors: index parsing and cross-checking of the shards against it.
#include "engine/weights/sharded_safetensors.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "engine/core/error.h"
#include "engine/weights/printable.h"

namespace gallop::engine {

namespace fs = std::filesystem;

namespace {

nlohmann::json read_index_json(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) fail(ErrorKind::NotFound, path.string(), ": no such file");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorKind::Io, path.string(), ": cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) fail(ErrorKind::Format, path.string(), ": safetensors index is not valid JSON");
  if (!j.is_object()) fail(ErrorKind::Format, path.string(), ": safetensors index is not a JSON object");
  return j;
}

}  // namespace

void ShardedSafetensors::add_shard(std::shared_ptr<const SafetensorsFile> shard, const std::string& context) {
  const size_t index = shards_.size();
  for (const auto& e : shard->entries()) {
    auto [it, inserted] = shard_of_.emplace(e.name, index);
    if (!inserted)
      fail(ErrorKind::Format, context, ": tensor '", printable(e.name), "' is in two shards: ",
           shards_[it->second]->path().filename().string(), " and ", shard->path().filename().string());
  }
  shards_.push_back(std::move(shard));
}

std::shared_ptr<const ShardedSafetensors> ShardedSafetensors::open_index(const fs::path& index_json) {
  const std::string ctx = index_json.string();
  const nlohmann::json j = read_index_json(index_json);

  std::shared_ptr<ShardedSafetensors> s(new ShardedSafetensors());
  s->path_ = index_json;
  if (auto m = j.find("metadata"); m != j.end() && !m->is_null()) {
    if (!m->is_object()) fail(ErrorKind::Format, ctx, ": 'metadata' is not a JSON object");
    for (auto it = m->begin(); it != m->end(); ++it)
      s->metadata_[it.key()] = it->is_string() ? it->get<std::string>() : it->dump();
  }
  auto wm = j.find("weight_map");
  if (wm == j.end() || !wm->is_object()) fail(ErrorKind::Format, ctx, ": no 'weight_map' object");
  if (wm->empty()) fail(ErrorKind::Format, ctx, ": 'weight_map' is empty");

  // Shard file names in order of first appearance, and what the index puts in each.
  std::vector<std::string> shard_names;
  std::map<std::string, std::set<std::string>> listed;  // shard name -> tensor names
  for (auto it = wm->begin(); it != wm->end(); ++it) {
    if (!it->is_string())
      fail(ErrorKind::Format, ctx, ": weight_map entry for '", printable(it.key()), "' is not a file name string");
    const std::string shard = it->get<std::string>();
    if (shard.empty() || shard.find('/') != std::string::npos || shard == "." || shard == "..")
      fail(ErrorKind::Format, ctx, ": weight_map entry for '", printable(it.key()), "' is '", printable(shard),
           "', not a plain file name in the index's folder");
    if (!listed.count(shard)) shard_names.push_back(shard);
    listed[shard].insert(it.key());
  }

  const fs::path dir = index_json.parent_path();
  std::vector<std::shared_ptr<const SafetensorsFile>> shards;
  for (const auto& name : shard_names) {
    const fs::path shard_path = dir / name;
    std::error_code ec;
    if (!fs::exists(shard_path, ec))
      fail(ErrorKind::NotFound, ctx, ": shard ", printable(name), " is listed in the index but ", shard_path.string(),
           " does not exist");
    shards.push_back(SafetensorsFile::open(shard_path));
  }
  // Every listed tensor is where the index says ...
  for (size_t i = 0; i < shards.size(); ++i)
    for (const auto& key : listed[shard_names[i]])
      if (!shards[i]->contains(key))
        fail(ErrorKind::Format, ctx, ": the index maps tensor '", printable(key), "' to shard ", printable(shard_names[i]),
             " but that shard does not contain it");
  // ... and nowhere else.
  for (size_t i = 0; i < shards.size(); ++i)
    for (const auto& e : shards[i]->entries()) {
      if (listed[shard_names[i]].count(e.name)) continue;
      auto elsewhere = wm->find(e.name);
      if (elsewhere != wm->end())
        fail(ErrorKind::Format, ctx, ": tensor '", printable(e.name), "' is in two shards: ", printable(shard_names[i]), " and ",
             printable(elsewhere->get<std::string>()));
      fail(ErrorKind::Format, ctx, ": shard ", printable(shard_names[i]), " holds tensor '", printable(e.name),
           "' which the index does not list");
    }
  for (auto& shard : shards) s->add_shard(std::move(shard), ctx);
  return s;
}

std::shared_ptr<const ShardedSafetensors> ShardedSafetensors::open_files(const std::vector<fs::path>& files) {
  GALLOP_CHECK(!files.empty(), InvalidArgument, "no safetensors files given");
  std::shared_ptr<ShardedSafetensors> s(new ShardedSafetensors());
  s->path_ = files.front();
  const std::string ctx = files.size() == 1 ? files.front().string() : files.front().parent_path().string();
  for (const auto& f : files) s->add_shard(SafetensorsFile::open(f), ctx);
  if (files.size() == 1) s->metadata_ = s->shards_.front()->metadata();
  return s;
}

ShardedSafetensors::Location ShardedSafetensors::find(std::string_view name) const {
  auto it = shard_of_.find(name);
  if (it == shard_of_.end()) return {nullptr, nullptr};
  const SafetensorsFile* f = shards_[it->second].get();
  return {f, f->find(name)};
}

at::Tensor ShardedSafetensors::tensor(std::string_view name) const {
  auto it = shard_of_.find(name);
  if (it == shard_of_.end()) fail(ErrorKind::NotFound, path_.string(), ": no tensor named '", printable(name), "'");
  return shards_[it->second]->tensor(name);
}

}  // namespace gallop::engine
