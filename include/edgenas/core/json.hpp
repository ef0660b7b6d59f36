// edgenas/core/json.hpp — a small JSON value, parser and writer for edgenas's own files
// (genotypes, search spaces, latency tables). The library headers depend on Eigen only, so this
// covers exactly RFC 8259 minus \u escapes beyond the Basic Latin range; parse errors name the
// line and column.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "edgenas/core/error.hpp"

namespace edgenas::json {

class Value {
 public:
  enum class Kind { null, boolean, number, string, array, object };
  using Array = std::vector<Value>;
  using Object = std::vector<std::pair<std::string, Value>>;  // keeps the file's key order

  Value() = default;
  Value(std::nullptr_t) {}                                             // NOLINT(implicit)
  Value(bool b) : kind_(Kind::boolean), bool_(b) {}                    // NOLINT(implicit)
  Value(double d) : kind_(Kind::number), number_(d) {}                 // NOLINT(implicit)
  Value(int i) : kind_(Kind::number), number_(i) {}                    // NOLINT(implicit)
  Value(std::int64_t i) : kind_(Kind::number), number_(static_cast<double>(i)) {}  // NOLINT(implicit)
  Value(std::string s) : kind_(Kind::string), string_(std::move(s)) {}  // NOLINT(implicit)
  Value(const char* s) : kind_(Kind::string), string_(s) {}            // NOLINT(implicit)
  Value(Array a) : kind_(Kind::array), array_(std::move(a)) {}         // NOLINT(implicit)
  Value(Object o) : kind_(Kind::object), object_(std::move(o)) {}      // NOLINT(implicit)

  Kind kind() const noexcept { return kind_; }
  bool is_null() const noexcept { return kind_ == Kind::null; }
  bool is_object() const noexcept { return kind_ == Kind::object; }
  bool is_array() const noexcept { return kind_ == Kind::array; }

  bool as_bool(const char* what) const { return expect(Kind::boolean, what), bool_; }
  double as_number(const char* what) const { return expect(Kind::number, what), number_; }
  const std::string& as_string(const char* what) const { return expect(Kind::string, what), string_; }
  const Array& as_array(const char* what) const { return expect(Kind::array, what), array_; }
  const Object& as_object(const char* what) const { return expect(Kind::object, what), object_; }
  /// A number that must be an integer in [lo, hi].
  int as_int(const char* what, int lo = INT32_MIN, int hi = INT32_MAX) const {
    const double d = as_number(what);
    EDGENAS_CHECK(d == std::floor(d) && d >= lo && d <= hi, Status::corrupt_data,
                  "%s: expected an integer in [%d, %d], got %g", what, lo, hi, d);
    return static_cast<int>(d);
  }
  /// A number that must be an integer in [lo, hi] (by default ±2^53: every such double is exact).
  std::int64_t as_int64(const char* what, std::int64_t lo = -(std::int64_t{1} << 53),
                        std::int64_t hi = std::int64_t{1} << 53) const {
    const double d = as_number(what);
    EDGENAS_CHECK(d == std::floor(d) && d >= static_cast<double>(lo) && d <= static_cast<double>(hi),
                  Status::corrupt_data, "%s: expected an integer in [%lld, %lld], got %g", what,
                  static_cast<long long>(lo), static_cast<long long>(hi), d);
    return static_cast<std::int64_t>(d);
  }
  /// A number that must lie in [lo, hi].
  double as_number(const char* what, double lo, double hi) const {
    const double d = as_number(what);
    EDGENAS_CHECK(d >= lo && d <= hi, Status::corrupt_data, "%s: expected a number in [%g, %g], got %g", what, lo, hi,
                  d);
    return d;
  }

  /// Member of an object, or nullptr if absent.
  const Value* find(std::string_view key) const {
    if (kind_ != Kind::object) return nullptr;
    for (const auto& [k, v] : object_)
      if (k == key) return &v;
    return nullptr;
  }
  /// Member that must exist; `what` names the enclosing object in the error.
  const Value& at(std::string_view key, const char* what) const {
    const Value* v = find(key);
    EDGENAS_CHECK(v != nullptr, Status::corrupt_data, "%s: missing key \"%.*s\"", what, static_cast<int>(key.size()),
                  key.data());
    return *v;
  }
  /// Appends a member (objects) — for building documents to write.
  /// Sets `key` (replacing its value if it is already there, in place).
  Value& set(std::string key, Value value) {
    if (kind_ == Kind::null) kind_ = Kind::object;
    for (auto& [k, v] : object_)
      if (k == key) {
        v = std::move(value);
        return *this;
      }
    object_.emplace_back(std::move(key), std::move(value));
    return *this;
  }

  static const char* kind_name(Kind k) noexcept {
    constexpr const char* names[] = {"null", "boolean", "number", "string", "array", "object"};
    return names[static_cast<int>(k)];
  }

 private:
  void expect(Kind k, const char* what) const {
    EDGENAS_CHECK(kind_ == k, Status::corrupt_data, "%s: expected %s, got %s", what, kind_name(k), kind_name(kind_));
  }

  Kind kind_ = Kind::null;
  bool bool_ = false;
  double number_ = 0.0;
  std::string string_;
  Array array_;
  Object object_;
};

namespace detail {

class Parser {
 public:
  Parser(std::string_view text, const char* source) : text_(text), source_(source) {}

  Value document() {
    Value v = value(0);
    skip_space();
    if (pos_ != text_.size()) fail("unexpected text after the JSON value");
    return v;
  }

 private:
  [[noreturn]] void fail(const char* what) const {
    int line = 1, column = 1;
    for (std::size_t i = 0; i < pos_ && i < text_.size(); ++i) {
      if (text_[i] == '\n') ++line, column = 1;
      else ++column;
    }
    const bool at_end = pos_ >= text_.size();
    EDGENAS_FAIL(Status::corrupt_data, "%s:%d:%d: %s%s", source_, line, column, what,
                 at_end ? " — the text ends here (truncated file?)" : "");
  }
  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r'))
      ++pos_;
  }
  bool consume(char c) {
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == c) return ++pos_, true;
    return false;
  }
  bool literal(std::string_view word) {
    if (text_.substr(pos_, word.size()) == word) return pos_ += word.size(), true;
    return false;
  }

  Value value(int depth) {
    if (depth > 64) fail("nesting deeper than 64 levels");
    skip_space();
    if (pos_ >= text_.size()) fail("unexpected end of input");
    const char c = text_[pos_];
    if (c == '{') return object(depth);
    if (c == '[') return array(depth);
    if (c == '"') return Value(string());
    if (literal("true")) return Value(true);
    if (literal("false")) return Value(false);
    if (literal("null")) return Value(nullptr);
    if (c == '-' || (c >= '0' && c <= '9')) return Value(number());
    fail("expected a value");
  }
  Value object(int depth) {
    ++pos_;
    Value::Object members;
    if (consume('}')) return Value(std::move(members));
    do {
      skip_space();
      if (pos_ >= text_.size() || text_[pos_] != '"') fail("expected a string key");
      std::string key = string();
      if (!consume(':')) fail("expected ':' after key");
      members.emplace_back(std::move(key), value(depth + 1));
    } while (consume(','));
    if (!consume('}')) fail("expected ',' or '}' in object");
    return Value(std::move(members));
  }
  Value array(int depth) {
    ++pos_;
    Value::Array items;
    if (consume(']')) return Value(std::move(items));
    do items.push_back(value(depth + 1));
    while (consume(','));
    if (!consume(']')) fail("expected ',' or ']' in array");
    return Value(std::move(items));
  }
  std::string string() {
    ++pos_;  // opening quote
    std::string out;
    while (pos_ < text_.size() && text_[pos_] != '"') {
      char c = text_[pos_++];
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in string");
      if (c == '\\') {
        if (pos_ >= text_.size()) break;
        switch (text_[pos_++]) {
          case '"': c = '"'; break;
          case '\\': c = '\\'; break;
          case '/': c = '/'; break;
          case 'b': c = '\b'; break;
          case 'f': c = '\f'; break;
          case 'n': c = '\n'; break;
          case 'r': c = '\r'; break;
          case 't': c = '\t'; break;
          case 'u': {
            unsigned code = 0;
            for (int i = 0; i < 4; ++i) {
              if (pos_ >= text_.size()) fail("truncated \\u escape");
              const char h = text_[pos_++];
              code = code * 16 + static_cast<unsigned>(h >= 'a' ? h - 'a' + 10 : h >= 'A' ? h - 'A' + 10 : h - '0');
            }
            if (code > 0x7F) fail("\\u escapes beyond ASCII are not supported");
            c = static_cast<char>(code);
            break;
          }
          default: fail("unknown escape in string");
        }
      }
      out.push_back(c);
    }
    if (pos_ >= text_.size()) fail("unterminated string");
    ++pos_;
    return out;
  }
  double number() {
    const std::size_t start = pos_;
    while (pos_ < text_.size() && std::string_view("+-0123456789.eE").find(text_[pos_]) != std::string_view::npos) ++pos_;
    const std::string token(text_.substr(start, pos_ - start));
    char* end = nullptr;
    const double d = std::strtod(token.c_str(), &end);
    if (end != token.c_str() + token.size() || !std::isfinite(d)) fail("malformed number");
    return d;
  }

  std::string_view text_;
  const char* source_;
  std::size_t pos_ = 0;
};

inline void write_string(std::string& out, const std::string& s) {
  out.push_back('"');
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
          out += buf;
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

inline void write(std::string& out, const Value& v, int indent, int depth) {
  const auto newline = [&](int d) {
    if (indent < 0) return;
    out.push_back('\n');
    out.append(static_cast<std::size_t>(indent * d), ' ');
  };
  switch (v.kind()) {
    case Value::Kind::null: out += "null"; break;
    case Value::Kind::boolean: out += v.as_bool("") ? "true" : "false"; break;
    case Value::Kind::number: {
      char buf[32];
      const double d = v.as_number("");
      if (d == std::floor(d) && std::abs(d) < 1e15) std::snprintf(buf, sizeof buf, "%.0f", d);
      else std::snprintf(buf, sizeof buf, "%.17g", d);  // round-trips exactly
      out += buf;
      break;
    }
    case Value::Kind::string: write_string(out, v.as_string("")); break;
    case Value::Kind::array: {
      const auto& a = v.as_array("");
      // Arrays of plain numbers stay on one line: shapes and choice lists read better that way.
      bool flat = true;
      for (const auto& item : a) flat = flat && (item.kind() == Value::Kind::number || item.kind() == Value::Kind::string);
      out.push_back('[');
      for (std::size_t i = 0; i < a.size(); ++i) {
        if (i) out += flat || indent < 0 ? ", " : ",";
        if (!flat) newline(depth + 1);
        write(out, a[i], indent, depth + 1);
      }
      if (!flat && !a.empty()) newline(depth);
      out.push_back(']');
      break;
    }
    case Value::Kind::object: {
      const auto& o = v.as_object("");
      out.push_back('{');
      for (std::size_t i = 0; i < o.size(); ++i) {
        if (i) out.push_back(',');
        newline(depth + 1);
        write_string(out, o[i].first);
        out += indent < 0 ? ":" : ": ";
        write(out, o[i].second, indent, depth + 1);
      }
      if (!o.empty()) newline(depth);
      out.push_back('}');
      break;
    }
  }
}

}  // namespace detail

/// Parses a JSON document; `source` (a file name) prefixes error messages.
inline Value parse(std::string_view text, const char* source = "<json>") { return detail::Parser(text, source).document(); }

/// Serialises `v`; indent < 0 gives one line.
inline std::string dump(const Value& v, int indent = 2) {
  std::string out;
  detail::write(out, v, indent, 0);
  return out;
}

}  // namespace edgenas::json
