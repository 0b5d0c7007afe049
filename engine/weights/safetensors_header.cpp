// safetensors header parsing and validation: the dtype vocabulary, the JSON header and the
// 8-byte length framing. Kept apart from the file and tensor code so that the libFuzzer target
// (tests/engine/weights/safetensors_header_fuzz.cpp) builds from this file alone.
#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "engine/core/error.h"
#include "engine/weights/printable.h"
#include "engine/weights/safetensors.h"

namespace gallop::engine {

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

const char* find_safetensors_dtype_name(at::ScalarType dtype) {
  for (const auto& d : kDTypes)
    if (d.type == dtype) return d.name;
  return nullptr;
}

const char* safetensors_dtype_name(at::ScalarType dtype) {
  if (const char* name = find_safetensors_dtype_name(dtype)) return name;
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

// ---- header -------------------------------------------------------------------------------------

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

TensorEntry parse_entry(const std::string& name, const nlohmann::json& v, uint64_t data_size,
                        const std::string& context) {
  const std::string where = context + ": tensor '" + printable(name) + "'";
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
    fail(ErrorKind::Format, where, " has unknown dtype '", printable(dtype_name), "'");

  // numel x element size, checked for overflow. The product of the non-zero dims must fit int64
  // even when a zero dim makes the tensor empty (ATen multiplies sizes before looking at zeros).
  constexpr uint64_t kMaxInt64 = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  uint64_t bytes = c10::elementSize(e.dtype);
  uint64_t nonzero_product = 1;
  for (const auto& d : *sh) {
    uint64_t dim = 0;
    if (!get_u64(d, &dim) || dim > kMaxInt64)
      fail(ErrorKind::Format, where, " has a shape entry that is not a non-negative integer");
    e.shape.push_back(static_cast<int64_t>(dim));
    if (dim == 0) {
      bytes = 0;
      continue;
    }
    if (nonzero_product > kMaxInt64 / dim || (bytes != 0 && bytes > kMaxInt64 / dim))
      fail(ErrorKind::Format, where, " has a shape whose element count overflows");
    nonzero_product *= dim;
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
  return e;
}

}  // namespace

SafetensorsHeader parse_safetensors_header(std::string_view text, uint64_t data_size,
                                           const std::string& context) {
  // The callback sees every object key with its depth; depth 1 are the tensor names. nlohmann
  // keeps the last of repeated keys, which would silently hide a tensor, so repeats are refused.
  std::set<std::string> seen;
  std::string repeated;
  auto on_event = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    if (event == nlohmann::json::parse_event_t::key && depth == 1 && repeated.empty() && parsed.is_string()) {
      if (!seen.insert(parsed.get<std::string>()).second) repeated = parsed.get<std::string>();
    }
    return true;
  };
  nlohmann::json j = nlohmann::json::parse(text.begin(), text.end(), on_event, /*allow_exceptions=*/false);
  if (j.is_discarded()) fail(ErrorKind::Format, context, ": safetensors header is not valid JSON");
  if (!j.is_object()) fail(ErrorKind::Format, context, ": safetensors header is not a JSON object");
  if (!repeated.empty())
    fail(ErrorKind::Format, context, ": safetensors header names '", printable(repeated), "' more than once");

  SafetensorsHeader h;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& name = it.key();
    const nlohmann::json& v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object()) fail(ErrorKind::Format, context, ": __metadata__ is not a JSON object");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string())
          fail(ErrorKind::Format, context, ": __metadata__ value for '", printable(m.key()), "' is not a string");
        h.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    h.entries.push_back(parse_entry(name, v, data_size, context));
  }

  std::sort(h.entries.begin(), h.entries.end(), [](const TensorEntry& a, const TensorEntry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  // Zero-byte tensors may sit anywhere; every other range must start at or after the end of all
  // the non-empty ranges before it.
  const TensorEntry* furthest = nullptr;  // the non-empty range with the largest end so far
  for (const auto& cur : h.entries) {
    if (cur.begin == cur.end) continue;
    if (furthest && cur.begin < furthest->end)
      fail(ErrorKind::Format, context, ": tensors '", printable(furthest->name), "' and '", printable(cur.name),
           "' have overlapping data ranges");
    if (!furthest || cur.end > furthest->end) furthest = &cur;
  }
  return h;
}

SafetensorsHeader parse_safetensors_file_image(const uint8_t* bytes, uint64_t size, const std::string& context,
                                               uint64_t* data_offset) {
  if (size < 8)
    fail(ErrorKind::Format, context, ": truncated safetensors file (", size, " bytes, need at least 8)");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | bytes[i];
  if (n > kMaxSafetensorsHeaderBytes)
    fail(ErrorKind::Format, context, ": safetensors header length ", n, " exceeds the ", kMaxSafetensorsHeaderBytes,
         "-byte limit");
  if (n > size - 8)
    fail(ErrorKind::Format, context, ": safetensors header length ", n, " runs past the end of the file (", size,
         " bytes)");
  if (n < 2) fail(ErrorKind::Format, context, ": safetensors header is too short to be JSON");
  *data_offset = 8 + n;
  std::string_view json(reinterpret_cast<const char*>(bytes + 8), n);
  return parse_safetensors_header(json, size - *data_offset, context);
}

}  // namespace gallop::engine
