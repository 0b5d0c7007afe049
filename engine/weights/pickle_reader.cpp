// Restricted unpickler for torch.save state dicts (see pickle_reader.h). Opcode names and
// semantics follow CPython's Lib/pickletools.py.
#include "engine/weights/pickle_reader.h"

#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <unordered_map>

#include "engine/core/error.h"
#include "engine/weights/printable.h"

namespace gallop::engine {

namespace {

// Containers nested deeper than this are refused (state dicts nest 3 levels at most).
constexpr int kMaxDepth = 64;

enum class Kind { None, Bool, Int, Float, String, Bytes, Tuple, List, Dict, Global, Dtype, Storage, Tensor };

struct Value;
using ValuePtr = std::shared_ptr<Value>;

struct Value {
  Kind kind = Kind::None;
  int64_t i = 0;    // Bool, Int; Dtype (ScalarType); Storage / Tensor (index into the reader's tables)
  double f = 0;     // Float
  std::string s;    // String, Bytes; Global ("module.name")
  std::vector<ValuePtr> items;                         // Tuple, List
  std::vector<std::pair<ValuePtr, ValuePtr>> entries;  // Dict, in insertion order
  int depth = 0;        // container levels inside this value
  bool frozen = false;  // already inside another container: may no longer change
};

ValuePtr make(Kind kind) {
  auto v = std::make_shared<Value>();
  v->kind = kind;
  return v;
}

std::string describe(const Value& v) {
  switch (v.kind) {
    case Kind::None: return "None";
    case Kind::Bool: return "a bool";
    case Kind::Int: return "an int";
    case Kind::Float: return "a float";
    case Kind::String: return "a string";
    case Kind::Bytes: return "bytes";
    case Kind::Tuple: return "a tuple";
    case Kind::List: return "a list";
    case Kind::Dict: return "a dict";
    case Kind::Global: return "the Python global " + printable(v.s);
    case Kind::Dtype: return "a dtype";
    case Kind::Storage: return "a bare storage";
    case Kind::Tensor: return "a tensor";
  }
  return "?";
}

// Python dtype names (torch.<name>) as _rebuild_tensor_v3 passes them.
const std::map<std::string, at::ScalarType>& python_dtypes() {
  static const std::map<std::string, at::ScalarType> kMap = {
      {"float64", at::kDouble},  {"double", at::kDouble},        {"float32", at::kFloat},
      {"float", at::kFloat},     {"float16", at::kHalf},         {"half", at::kHalf},
      {"bfloat16", at::kBFloat16}, {"float8_e4m3fn", at::kFloat8_e4m3fn}, {"float8_e5m2", at::kFloat8_e5m2},
      {"int64", at::kLong},      {"long", at::kLong},            {"int32", at::kInt},
      {"int", at::kInt},         {"int16", at::kShort},          {"short", at::kShort},
      {"int8", at::kChar},       {"uint8", at::kByte},           {"uint16", at::kUInt16},
      {"uint32", at::kUInt32},   {"uint64", at::kUInt64},        {"bool", at::kBool},
      {"complex64", at::kComplexFloat}, {"complex128", at::kComplexDouble},
  };
  return kMap;
}

// torch.<Name>Storage -> dtype (the legacy typed storages torch.save still writes).
bool storage_dtype(const std::string& cls, at::ScalarType* out) {
#define GALLOP_STORAGE_NAME(_, name)   \
  if (cls == #name "Storage") {        \
    *out = at::k##name;                \
    return true;                       \
  }
  AT_FORALL_SCALAR_TYPES_WITH_COMPLEX(GALLOP_STORAGE_NAME)
#undef GALLOP_STORAGE_NAME
  return false;
}

class Reader {
 public:
  Reader(std::string_view in, const std::string& context) : in_(in), ctx_(context) {}

  PickledStateDict run() {
    ValuePtr root = parse();
    return extract(*root);
  }

 private:
  // ---- errors and bytes ----
  template <typename... Args>
  [[noreturn]] void bad(Args&&... args) const {
    fail(ErrorKind::Format, ctx_, ": ", std::forward<Args>(args)...);
  }
  template <typename... Args>
  [[noreturn]] void corrupt(Args&&... args) const {
    fail(ErrorKind::Format, ctx_, ": corrupt data.pkl at byte ", pos_, ": ", std::forward<Args>(args)...);
  }
  const char* take(uint64_t n) {
    if (n > in_.size() - pos_) corrupt("truncated");
    const char* p = in_.data() + pos_;
    pos_ += n;
    return p;
  }
  uint64_t le(int n) {
    const auto* p = reinterpret_cast<const uint8_t*>(take(n));
    uint64_t v = 0;
    for (int k = n - 1; k >= 0; --k) v = (v << 8) | p[k];
    return v;
  }
  std::string line() {
    const size_t nl = in_.find('\n', pos_);
    if (nl == std::string_view::npos) corrupt("unterminated line");
    std::string s(in_.substr(pos_, nl - pos_));
    pos_ = nl + 1;
    return s;
  }

  // ---- stack ----
  ValuePtr pop() {
    if (stack_.size() <= (marks_.empty() ? 0 : marks_.back())) corrupt("stack underflow");
    ValuePtr v = std::move(stack_.back());
    stack_.pop_back();
    return v;
  }
  ValuePtr& top() {
    if (stack_.size() <= (marks_.empty() ? 0 : marks_.back())) corrupt("stack underflow");
    return stack_.back();
  }
  std::vector<ValuePtr> pop_to_mark() {
    if (marks_.empty()) corrupt("no mark");
    const size_t m = marks_.back();
    marks_.pop_back();
    std::vector<ValuePtr> items(std::make_move_iterator(stack_.begin() + m), std::make_move_iterator(stack_.end()));
    stack_.resize(m);
    return items;
  }
  // Puts `child` inside `parent` (tuple/list item, dict key or value).
  // Children never change after adoption (see mutable_container), so depths stay exact and no
  // container can end up inside itself.
  void adopt(Value& parent, const ValuePtr& child) {
    if (child.get() == &parent) corrupt("a container inside itself");
    if (child->depth + 1 > kMaxDepth) corrupt("containers nested deeper than ", kMaxDepth);
    child->frozen = true;
    parent.depth = std::max(parent.depth, child->depth + 1);
  }
  ValuePtr tuple(std::vector<ValuePtr> items) {
    ValuePtr t = make(Kind::Tuple);
    for (const auto& v : items) adopt(*t, v);
    t->items = std::move(items);
    return t;
  }
  Value& mutable_container(const ValuePtr& v, Kind kind) {
    if (v->kind != kind) corrupt("expected ", kind == Kind::Dict ? "a dict" : "a list", ", found ", describe(*v));
    if (v->frozen) corrupt("modifies a container after nesting it (unsupported)");
    return *v;
  }
  void set_items(const ValuePtr& dict, const std::vector<ValuePtr>& kv) {
    if (kv.size() % 2 != 0) corrupt("odd number of dict items");
    Value& d = mutable_container(dict, Kind::Dict);
    for (size_t k = 0; k < kv.size(); k += 2) {
      adopt(d, kv[k]);
      adopt(d, kv[k + 1]);
      d.entries.emplace_back(kv[k], kv[k + 1]);
    }
  }
  void append_items(const ValuePtr& list, const std::vector<ValuePtr>& items) {
    Value& l = mutable_container(list, Kind::List);
    for (const auto& v : items) {
      adopt(l, v);
      l.items.push_back(v);
    }
  }

  // ---- globals and calls ----
  ValuePtr global(const std::string& module, const std::string& name) {
    const std::string full = module + "." + name;
    ValuePtr g = make(Kind::Global);
    g->s = full;
    if (full == "collections.OrderedDict" || full == "torch._utils._rebuild_tensor_v2" ||
        full == "torch._utils._rebuild_tensor_v3" || full == "torch._utils._rebuild_parameter" ||
        full == "torch.storage.UntypedStorage" || full == "torch.jit._pickle.restore_type_tag")
      return g;
    at::ScalarType dtype;
    if (module == "torch" && storage_dtype(name, &dtype)) {
      ValuePtr d = make(Kind::Dtype);
      d->i = static_cast<int64_t>(dtype);
      return d;
    }
    if (module == "torch") {
      auto it = python_dtypes().find(name);
      if (it != python_dtypes().end()) {
        ValuePtr d = make(Kind::Dtype);
        d->i = static_cast<int64_t>(it->second);
        return d;
      }
    }
    bad("expected a state dict (a dict of name -> tensor) but the file holds a pickled Python object of "
        "class ", printable(full), " (save model.state_dict() instead of the model)");
  }

  int64_t as_int(const ValuePtr& v, const char* what) {
    if (v->kind != Kind::Int) corrupt(what, " is ", describe(*v), ", not an int");
    return v->i;
  }
  std::vector<int64_t> as_ints(const ValuePtr& v, const char* what) {
    if (v->kind != Kind::Tuple && v->kind != Kind::List) corrupt(what, " is ", describe(*v), ", not a tuple");
    std::vector<int64_t> out;
    for (const auto& x : v->items) out.push_back(as_int(x, what));
    return out;
  }

  ValuePtr rebuild_tensor(const std::vector<ValuePtr>& args, bool v3) {
    if (args.size() < (v3 ? 7u : 6u)) corrupt("too few arguments to _rebuild_tensor");
    if (args[0]->kind != Kind::Storage) corrupt("_rebuild_tensor expects a storage, found ", describe(*args[0]));
    PickledTensor t;
    t.storage = static_cast<size_t>(args[0]->i);
    t.dtype = storages_[t.storage].dtype;
    if (v3) {
      if (args[6]->kind != Kind::Dtype) corrupt("_rebuild_tensor_v3 expects a dtype, found ", describe(*args[6]));
      t.dtype = static_cast<at::ScalarType>(args[6]->i);
    }
    t.storage_offset = as_int(args[1], "storage offset");
    t.size = as_ints(args[2], "tensor size");
    t.stride = as_ints(args[3], "tensor stride");
    if (t.size.size() != t.stride.size()) corrupt("tensor size and stride differ in length");
    ValuePtr v = make(Kind::Tensor);
    v->i = static_cast<int64_t>(tensors_.size());
    tensors_.push_back(std::move(t));
    return v;
  }

  ValuePtr call(const ValuePtr& fn, const ValuePtr& args_tuple) {
    if (fn->kind != Kind::Global) corrupt("calls ", describe(*fn));
    if (args_tuple->kind != Kind::Tuple) corrupt("call arguments are ", describe(*args_tuple));
    const auto& args = args_tuple->items;
    if (fn->s == "collections.OrderedDict") {
      if (!args.empty()) corrupt("OrderedDict with constructor arguments (unsupported)");
      return make(Kind::Dict);
    }
    if (fn->s == "torch._utils._rebuild_tensor_v2") return rebuild_tensor(args, false);
    if (fn->s == "torch._utils._rebuild_tensor_v3") return rebuild_tensor(args, true);
    if (fn->s == "torch.jit._pickle.restore_type_tag") {  // LibTorch's pickler: (value, "Dict[str, Tensor]")
      if (args.size() != 2) corrupt("restore_type_tag expects (value, type)");
      return args[0];
    }
    if (fn->s == "torch._utils._rebuild_parameter") {
      if (args.empty() || args[0]->kind != Kind::Tensor) corrupt("_rebuild_parameter expects a tensor");
      return args[0];
    }
    corrupt("calls ", printable(fn->s), " (unsupported)");
  }

  ValuePtr persistent_load(const ValuePtr& pid) {
    if (pid->kind != Kind::Tuple || pid->items.size() != 5 || pid->items[0]->kind != Kind::String ||
        pid->items[0]->s != "storage")
      corrupt("unknown persistent id (expected ('storage', type, key, location, numel))");
    const auto& a = pid->items;
    PickledStorage s;
    if (a[1]->kind == Kind::Dtype)
      s.dtype = static_cast<at::ScalarType>(a[1]->i);
    else if (a[1]->kind == Kind::Global && a[1]->s == "torch.storage.UntypedStorage")
      s.dtype = at::kByte;
    else
      corrupt("storage type is ", describe(*a[1]));
    if (a[2]->kind != Kind::String) corrupt("storage key is ", describe(*a[2]));
    s.key = a[2]->s;
    s.numel = as_int(a[4], "storage size");
    if (s.numel < 0) corrupt("negative storage size");
    ValuePtr v = make(Kind::Storage);
    auto it = storage_index_.find(s.key);
    if (it != storage_index_.end()) {
      const PickledStorage& prev = storages_[it->second];
      if (prev.dtype != s.dtype || prev.numel != s.numel) corrupt("storage '", printable(s.key), "' described two ways");
      v->i = static_cast<int64_t>(it->second);
    } else {
      v->i = static_cast<int64_t>(storages_.size());
      storage_index_.emplace(s.key, storages_.size());
      storages_.push_back(std::move(s));
    }
    return v;
  }

  // ---- the opcode loop ----
  ValuePtr parse() {
    for (;;) {
      const uint8_t op = static_cast<uint8_t>(*take(1));
      switch (op) {
        case 0x80: take(1); break;  // PROTO
        case 0x95: take(8); break;  // FRAME (length is only a hint)
        case '.': {                 // STOP
          if (stack_.size() != 1 || !marks_.empty()) corrupt("stack not empty at STOP");
          return stack_.back();
        }
        case '(': marks_.push_back(stack_.size()); break;  // MARK
        case '0': pop(); break;                              // POP
        case '1': pop_to_mark(); break;                      // POP_MARK
        case '2': {                                          // DUP
          ValuePtr v = top();
          stack_.push_back(std::move(v));
          break;
        }
        case 'N': stack_.push_back(make(Kind::None)); break;
        case 0x88:
        case 0x89: {  // NEWTRUE, NEWFALSE
          ValuePtr v = make(Kind::Bool);
          v->i = op == 0x88;
          stack_.push_back(v);
          break;
        }
        case 'J':
        case 'K':
        case 'M': {  // BININT (i32), BININT1 (u8), BININT2 (u16)
          ValuePtr v = make(Kind::Int);
          v->i = op == 'J' ? static_cast<int64_t>(static_cast<int32_t>(le(4))) : static_cast<int64_t>(le(op == 'K' ? 1 : 2));
          stack_.push_back(v);
          break;
        }
        case 0x8a: {  // LONG1: n-byte little-endian two's complement
          const int n = static_cast<int>(le(1));
          if (n > 8) corrupt("integer wider than 64 bits");
          uint64_t u = n > 0 ? le(n) : 0;
          if (n > 0 && n < 8 && (u >> (8 * n - 1)) & 1) u |= ~uint64_t{0} << (8 * n);  // sign-extend
          ValuePtr v = make(Kind::Int);
          v->i = static_cast<int64_t>(u);
          stack_.push_back(v);
          break;
        }
        case 'G': {  // BINFLOAT, big-endian
          const auto* p = reinterpret_cast<const uint8_t*>(take(8));
          uint64_t u = 0;
          for (int k = 0; k < 8; ++k) u = (u << 8) | p[k];
          ValuePtr v = make(Kind::Float);
          std::memcpy(&v->f, &u, 8);
          stack_.push_back(v);
          break;
        }
        case 'X': case 0x8c: case 0x8d: case 'T': case 'U':    // str: BINUNICODE, SHORT_, 8; BINSTRING, SHORT_
        case 'B': case 'C': case 0x8e: case 0x96: {            // bytes: BINBYTES, SHORT_, 8; BYTEARRAY8
          const int width = (op == 0x8c || op == 'U' || op == 'C') ? 1 : (op == 0x8d || op == 0x8e || op == 0x96) ? 8 : 4;
          const uint64_t n = le(width);
          ValuePtr v = make((op == 'B' || op == 'C' || op == 0x8e || op == 0x96) ? Kind::Bytes : Kind::String);
          v->s.assign(take(n), n);
          stack_.push_back(v);
          break;
        }
        case ')': stack_.push_back(make(Kind::Tuple)); break;  // EMPTY_TUPLE
        case 't': stack_.push_back(tuple(pop_to_mark())); break;
        case 0x85:
        case 0x86:
        case 0x87: {  // TUPLE1..3
          std::vector<ValuePtr> items(op - 0x84);
          for (auto it = items.rbegin(); it != items.rend(); ++it) *it = pop();
          stack_.push_back(tuple(std::move(items)));
          break;
        }
        case ']': stack_.push_back(make(Kind::List)); break;  // EMPTY_LIST
        case 'l': {                                            // LIST
          ValuePtr l = make(Kind::List);
          append_items(l, pop_to_mark());
          stack_.push_back(l);
          break;
        }
        case '}': stack_.push_back(make(Kind::Dict)); break;  // EMPTY_DICT
        case 'd': {                                            // DICT
          ValuePtr d = make(Kind::Dict);
          set_items(d, pop_to_mark());
          stack_.push_back(d);
          break;
        }
        case 'a': {  // APPEND
          ValuePtr v = pop();
          append_items(top(), {v});
          break;
        }
        case 'e': {  // APPENDS
          auto items = pop_to_mark();
          append_items(top(), items);
          break;
        }
        case 's': {  // SETITEM
          ValuePtr value = pop();
          ValuePtr key = pop();
          set_items(top(), {key, value});
          break;
        }
        case 'u': {  // SETITEMS
          auto kv = pop_to_mark();
          set_items(top(), kv);
          break;
        }
        case 'c': {  // GLOBAL
          std::string module = line();
          std::string name = line();
          stack_.push_back(global(module, name));
          break;
        }
        case 0x93: {  // STACK_GLOBAL
          ValuePtr name = pop();
          ValuePtr module = pop();
          if (module->kind != Kind::String || name->kind != Kind::String) corrupt("STACK_GLOBAL needs two strings");
          stack_.push_back(global(module->s, name->s));
          break;
        }
        case 'R':      // REDUCE
        case 0x81: {   // NEWOBJ
          ValuePtr args = pop();
          ValuePtr fn = pop();
          stack_.push_back(call(fn, args));
          break;
        }
        case 'b': {  // BUILD: object state. Dicts (OrderedDict._metadata) and tensors ignore it.
          pop();
          const Kind k = top()->kind;
          if (k != Kind::Dict && k != Kind::Tensor) corrupt("sets the state of ", describe(*top()));
          break;
        }
        case 'Q': {  // BINPERSID
          ValuePtr pid = pop();
          stack_.push_back(persistent_load(pid));
          break;
        }
        case 'q': memo_[static_cast<uint32_t>(le(1))] = top(); break;  // BINPUT
        case 'r': memo_[static_cast<uint32_t>(le(4))] = top(); break;  // LONG_BINPUT
        case 0x94: {                                                    // MEMOIZE
          const uint32_t idx = static_cast<uint32_t>(memo_.size());
          memo_[idx] = top();
          break;
        }
        case 'h':
        case 'j': {  // BINGET, LONG_BINGET
          auto it = memo_.find(static_cast<uint32_t>(le(op == 'h' ? 1 : 4)));
          if (it == memo_.end()) corrupt("memo lookup of an unset index");
          stack_.push_back(it->second);
          break;
        }
        default:
          corrupt("unsupported pickle opcode 0x", "0123456789abcdef"[op >> 4], "0123456789abcdef"[op & 15]);
      }
    }
  }

  // ---- the state dict ----
  static bool is_state_dict(const Value& v) {
    if (v.kind != Kind::Dict) return false;
    for (const auto& [k, val] : v.entries)
      if (k->kind != Kind::String || val->kind != Kind::Tensor) return false;
    return true;
  }

  PickledStateDict extract(const Value& root) {
    PickledStateDict out;
    const Value* dict = &root;
    if (!is_state_dict(root) && root.kind == Kind::Dict) {
      for (const char* wrapper : {"state_dict", "model"})
        for (const auto& [k, v] : root.entries)
          if (out.wrapper.empty() && k->kind == Kind::String && k->s == wrapper && is_state_dict(*v)) {
            dict = v.get();
            out.wrapper = wrapper;
          }
    }
    const char* expected = "expected a state dict (a dict of name -> tensor) but ";
    if (dict->kind != Kind::Dict) bad(expected, "the file holds ", describe(*dict));
    std::set<std::string> seen;
    for (const auto& [k, v] : dict->entries) {
      if (k->kind != Kind::String) bad(expected, "a key is ", describe(*k));
      if (v->kind != Kind::Tensor) bad(expected, "the value for '", printable(k->s), "' is ", describe(*v));
      if (!seen.insert(k->s).second) bad("the state dict names '", printable(k->s), "' twice");
      out.tensors.emplace_back(k->s, tensors_[static_cast<size_t>(v->i)]);
    }
    out.storages = storages_;
    return out;
  }

  std::string_view in_;
  const std::string& ctx_;
  size_t pos_ = 0;
  std::vector<ValuePtr> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint32_t, ValuePtr> memo_;
  std::vector<PickledStorage> storages_;
  std::map<std::string, size_t> storage_index_;
  std::vector<PickledTensor> tensors_;
};

}  // namespace

PickledStateDict parse_state_dict_pickle(std::string_view pickle, const std::string& context) {
  return Reader(pickle, context).run();
}

}  // namespace gallop::engine
