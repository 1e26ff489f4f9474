#include "connectors/cli/json_input.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "connectors/cli/suggest.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/util/json_util.h"

namespace liaison::cli {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::EnumDescriptor;
using google::protobuf::FieldDescriptor;

constexpr int kMaxDepth = 100;

// Walks the JSON text once, checking it against the message's descriptor,
// and reports the first problem with its position. protobuf's JSON parser
// (run afterwards) gives no position, so this walk exists to give one.
class Checker {
 public:
  Checker(const std::string& text, const std::string& origin) : text_(text), origin_(origin) {}

  absl::Status CheckDocument(const Descriptor* type) {
    SkipSpace();
    if (absl::Status s = Value(nullptr, type, "", 0); !s.ok()) return s;
    SkipSpace();
    if (pos_ < text_.size()) return Error(pos_, "", "unexpected text after the JSON value");
    return absl::OkStatus();
  }

 private:
  // "ORIGIN:LINE:COLUMN: PATH: what".
  absl::Status Error(size_t at, const std::string& path, const std::string& what) const {
    int line = 1;
    int column = 1;
    for (size_t i = 0; i < at && i < text_.size(); ++i) {
      const unsigned char c = static_cast<unsigned char>(text_[i]);
      if (c == '\n') {
        ++line;
        column = 1;
      } else if ((c & 0xC0) != 0x80) {  // not a UTF-8 continuation byte
        ++column;
      }
    }
    return absl::InvalidArgumentError(
        absl::StrCat(origin_, ":", line, ":", column, ": ", path.empty() ? "" : path + ": ", what));
  }

  void SkipSpace() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }

  bool Literal(const char* word) {
    const std::string w(word);
    if (text_.compare(pos_, w.size(), w) != 0) return false;
    pos_ += w.size();
    return true;
  }

  // A JSON string at pos_ (which is '"'); `out` gets it with escapes of
  // ASCII characters decoded (enough for field and enum names).
  absl::Status String(const std::string& path, std::string* out) {
    const size_t start = pos_++;
    out->clear();
    while (pos_ < text_.size()) {
      const char c = text_[pos_++];
      if (c == '"') return absl::OkStatus();
      if (static_cast<unsigned char>(c) < 0x20) {
        return Error(pos_ - 1, path, "control character inside a string (write it as \\n, \\t …)");
      }
      if (c != '\\') {
        out->push_back(c);
        continue;
      }
      if (pos_ >= text_.size()) break;
      const char e = text_[pos_++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out->push_back(e);
          break;
        case 'b':
          out->push_back('\b');
          break;
        case 'f':
          out->push_back('\f');
          break;
        case 'n':
          out->push_back('\n');
          break;
        case 'r':
          out->push_back('\r');
          break;
        case 't':
          out->push_back('\t');
          break;
        case 'u': {
          unsigned v = 0;
          for (int k = 0; k < 4; ++k, ++pos_) {
            if (pos_ >= text_.size() || !std::isxdigit(static_cast<unsigned char>(text_[pos_]))) {
              return Error(pos_, path, "\\u must be followed by 4 hex digits");
            }
            const char h = text_[pos_];
            v = v * 16 + (h <= '9' ? h - '0' : (h | 0x20) - 'a' + 10);
          }
          out->push_back(v < 0x80 ? static_cast<char>(v) : '?');
          break;
        }
        default:
          return Error(pos_ - 2, path, absl::StrCat("unknown escape '\\", std::string(1, e), "'"));
      }
    }
    return Error(start, path, "unterminated string (no closing '\"')");
  }

  absl::Status Number(const std::string& path) {
    const size_t start = pos_;
    if (pos_ < text_.size() && text_[pos_] == '-') ++pos_;
    size_t digits = 0;
    auto run = [&] {
      size_t n = 0;
      while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_, ++n;
      return n;
    };
    digits = run();
    if (digits == 0)
      return Error(start, path,
                   "expected a value (string, number, object, array, true, false or null)");
    if (pos_ < text_.size() && text_[pos_] == '.') {
      ++pos_;
      if (run() == 0) return Error(pos_, path, "expected digits after '.'");
    }
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
      if (run() == 0) return Error(pos_, path, "expected digits in the exponent");
    }
    return absl::OkStatus();
  }

  static const char* Expected(const FieldDescriptor* f) {
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_MESSAGE:
        return "an object";
      case FieldDescriptor::CPPTYPE_BOOL:
        return "true or false";
      case FieldDescriptor::CPPTYPE_STRING:
        return "a string";
      case FieldDescriptor::CPPTYPE_ENUM:
        return "an enum value name (a string)";
      default:
        return "a number";
    }
  }

  // One JSON value. `field`: the field it is the (element) value of, or
  // null at the top; `type`: the message type an object must be, or null
  // where anything goes (well-known types, values of unknown shape).
  absl::Status Value(const FieldDescriptor* field, const Descriptor* type, const std::string& path,
                     int depth) {
    if (depth > kMaxDepth) return Error(pos_, path, "nested more than 100 levels deep");
    if (pos_ >= text_.size())
      return Error(pos_, path, "unexpected end of input: a value is missing");
    const size_t start = pos_;
    const char c = text_[pos_];
    auto mismatch = [&](const char* got) {
      return Error(
          start, path,
          absl::StrCat("expected ", field ? Expected(field) : "an object", ", found ", got));
    };
    if (c == '{') {
      if (field && field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE)
        return mismatch("an object");
      return Object(type, path, depth);
    }
    if (c == '[') {
      if (type && IsWellKnown(type)) return Array(nullptr, path, depth);  // ListValue, Value
      if (field || type) return mismatch("an array");
      return Array(nullptr, path, depth);
    }
    if (c == '"') {
      std::string s;
      if (absl::Status st = String(path, &s); !st.ok()) return st;
      if (type && !IsWellKnown(type)) return mismatch("a string");
      if (field && field->cpp_type() == FieldDescriptor::CPPTYPE_BOOL) return mismatch("a string");
      if (field && field->cpp_type() == FieldDescriptor::CPPTYPE_ENUM)
        return EnumName(field->enum_type(), s, start, path);
      return absl::OkStatus();
    }
    if (Literal("null")) return absl::OkStatus();
    if (Literal("true") || Literal("false")) {
      if ((type && !IsWellKnown(type)) ||
          (field && field->cpp_type() != FieldDescriptor::CPPTYPE_BOOL &&
           field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE)) {
        return mismatch("true/false");
      }
      return absl::OkStatus();
    }
    if (absl::Status st = Number(path); !st.ok()) return st;
    if ((type && !IsWellKnown(type)) ||
        (field && (field->cpp_type() == FieldDescriptor::CPPTYPE_STRING ||
                   field->cpp_type() == FieldDescriptor::CPPTYPE_BOOL))) {
      return mismatch("a number");
    }
    return absl::OkStatus();
  }

  static bool IsWellKnown(const Descriptor* type) {
    return absl::StartsWith(type->full_name(), "google.protobuf.");
  }

  absl::Status EnumName(const EnumDescriptor* e, const std::string& name, size_t at,
                        const std::string& path) {
    if (e->FindValueByName(name) != nullptr) return absl::OkStatus();
    std::vector<std::string> names;
    for (int i = 0; i < e->value_count(); ++i) names.push_back(e->value(i)->name());
    std::string what = absl::StrCat("'", name, "' is not a value of ", e->full_name());
    std::optional<std::string> near = Nearest(name, names);
    if (!near) {
      // "INVESTIGTE" for PURPOSE_INVESTIGATE: compare without the prefix too.
      std::vector<std::string> bare;
      for (const std::string& n : names) bare.push_back(n.substr(n.find('_') + 1));
      if (std::optional<std::string> b = Nearest(name, bare)) {
        near = names[std::find(bare.begin(), bare.end(), *b) - bare.begin()];
      }
    }
    if (near) {
      absl::StrAppend(&what, "; did you mean '", *near, "'?");
    } else {
      absl::StrAppend(&what, " (values: ", absl::StrJoin(names, ", "), ")");
    }
    return Error(at, path, what);
  }

  // The field of `type` a JSON key names (proto name or JSON name).
  static const FieldDescriptor* FindField(const Descriptor* type, const std::string& key) {
    if (const FieldDescriptor* f = type->FindFieldByName(key)) return f;
    for (int i = 0; i < type->field_count(); ++i) {
      if (type->field(i)->json_name() == key) return type->field(i);
    }
    return nullptr;
  }

  absl::Status UnknownField(const Descriptor* type, const std::string& key, size_t at,
                            const std::string& path) {
    std::vector<std::string> names;
    for (int i = 0; i < type->field_count(); ++i) names.push_back(type->field(i)->name());
    std::string what = absl::StrCat("unknown field of ", type->full_name());
    if (std::optional<std::string> near = Nearest(key, names)) {
      absl::StrAppend(&what, "; did you mean '", *near, "'?");
    } else {
      absl::StrAppend(&what, " (its fields: ", absl::StrJoin(names, ", "), ")");
    }
    return Error(at, path, what);
  }

  // An object at pos_: the fields of `type` (null: any keys).
  absl::Status Object(const Descriptor* type, const std::string& path, int depth) {
    ++pos_;  // '{'
    SkipSpace();
    if (pos_ < text_.size() && text_[pos_] == '}') {
      ++pos_;
      return absl::OkStatus();
    }
    const bool checked = type != nullptr && !IsWellKnown(type);
    while (true) {
      SkipSpace();
      if (pos_ >= text_.size() || text_[pos_] != '"') {
        return Error(pos_, path, "expected a field name in double quotes");
      }
      const size_t key_at = pos_;
      std::string key;
      if (absl::Status s = String(path, &key); !s.ok()) return s;
      const std::string child = path.empty() ? key : absl::StrCat(path, ".", key);
      const FieldDescriptor* f = nullptr;
      if (checked) {
        f = FindField(type, key);
        if (f == nullptr) return UnknownField(type, key, key_at, child);
      }
      SkipSpace();
      if (pos_ >= text_.size() || text_[pos_] != ':') {
        return Error(pos_, child, "expected ':' after the field name");
      }
      ++pos_;
      SkipSpace();
      absl::Status s = f == nullptr ? Value(nullptr, nullptr, child, depth + 1)
                                    : FieldValue(f, child, depth + 1);
      if (!s.ok()) return s;
      SkipSpace();
      if (pos_ < text_.size() && text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < text_.size() && text_[pos_] == '}') {
        ++pos_;
        return absl::OkStatus();
      }
      return Error(pos_, path.empty() ? "" : path, "expected ',' or '}' after a field");
    }
  }

  // The value of field `f`: a map (an object of anything to its values), a
  // list, or one value.
  absl::Status FieldValue(const FieldDescriptor* f, const std::string& path, int depth) {
    if (Literal("null")) return absl::OkStatus();
    if (f->is_map()) {
      if (pos_ >= text_.size() || text_[pos_] != '{') {
        return Error(pos_, path, "expected an object (a map)");
      }
      const FieldDescriptor* value = f->message_type()->map_value();
      return MapObject(value, path, depth);
    }
    if (f->is_repeated()) {
      if (pos_ >= text_.size() || text_[pos_] != '[') {
        return Error(pos_, path, absl::StrCat("expected a list [...] of ", Expected(f)));
      }
      return Array(f, path, depth);
    }
    return Value(f, f->message_type(), path, depth);
  }

  absl::Status MapObject(const FieldDescriptor* value, const std::string& path, int depth) {
    ++pos_;
    SkipSpace();
    if (pos_ < text_.size() && text_[pos_] == '}') return ++pos_, absl::OkStatus();
    while (true) {
      SkipSpace();
      if (pos_ >= text_.size() || text_[pos_] != '"') {
        return Error(pos_, path, "expected a key in double quotes");
      }
      std::string key;
      if (absl::Status s = String(path, &key); !s.ok()) return s;
      const std::string child = absl::StrCat(path, "[\"", key, "\"]");
      SkipSpace();
      if (pos_ >= text_.size() || text_[pos_] != ':')
        return Error(pos_, child, "expected ':' after the key");
      ++pos_;
      SkipSpace();
      if (absl::Status s = Value(value, value->message_type(), child, depth + 1); !s.ok()) return s;
      SkipSpace();
      if (pos_ < text_.size() && text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < text_.size() && text_[pos_] == '}') return ++pos_, absl::OkStatus();
      return Error(pos_, path, "expected ',' or '}' after a map entry");
    }
  }

  // An array at pos_; `element`: the repeated field (null: anything).
  absl::Status Array(const FieldDescriptor* element, const std::string& path, int depth) {
    ++pos_;  // '['
    SkipSpace();
    if (pos_ < text_.size() && text_[pos_] == ']') return ++pos_, absl::OkStatus();
    for (int i = 0;; ++i) {
      SkipSpace();
      const std::string child = absl::StrCat(path, "[", i, "]");
      absl::Status s = element ? Value(element, element->message_type(), child, depth + 1)
                               : Value(nullptr, nullptr, child, depth + 1);
      if (!s.ok()) return s;
      SkipSpace();
      if (pos_ < text_.size() && text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < text_.size() && text_[pos_] == ']') return ++pos_, absl::OkStatus();
      return Error(pos_, path, "expected ',' or ']' in a list");
    }
  }

  const std::string& text_;
  const std::string& origin_;
  size_t pos_ = 0;
};

}  // namespace

absl::Status ParseJson(const std::string& text, const std::string& origin,
                       google::protobuf::Message* message) {
  Checker checker(text, origin);
  if (absl::Status s = checker.CheckDocument(message->GetDescriptor()); !s.ok()) return s;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = google::protobuf::util::JsonStringToMessage(text, message, options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(origin, ": not a valid ",
                                                   message->GetDescriptor()->full_name(), ": ",
                                                   status.message().as_string()));
  }
  return absl::OkStatus();
}

}  // namespace liaison::cli
