// Value: what an expression of the route condition language evaluates to.
//
// The language sees five kinds: Undefined (a missing property, a failing function, a comparison of
// different types), Null, Bool, Number (a finite double) and String. Object and Array exist only
// as the result of a body query handed straight to is_array / is_object / is_primitive; everywhere
// else a body query that lands on an object or an array is Undefined.
//
// A string either views bytes that outlive the evaluation (a message property, a literal of the
// compiled condition, a string inside the parsed body) or owns them (a function result such as
// lower()). Copies and moves keep the string valid in both cases.
//
// Example:
//   Value v = Value::Number(35);
//   if (v.is_number() && v.number() > 30) { ... }
//   Value::Number(1.0 / 0.0).is_undefined();  // true: non-finite numbers are Undefined
#ifndef EDGE_COMMON_ROUTE_VALUE_H_
#define EDGE_COMMON_ROUTE_VALUE_H_

#include <cstdint>
#include <ostream>
#include <string>

#include "absl/strings/string_view.h"

namespace edge::route {

enum class ValueKind : uint8_t { kUndefined, kNull, kBool, kNumber, kString, kObject, kArray };

// "undefined", "null", "bool", "number", "string", "object" or "array".
absl::string_view ValueKindName(ValueKind kind);

class Value {
 public:
  // Undefined.
  Value() = default;

  static Value Undefined() { return Value(); }
  static Value Null() { return Value(ValueKind::kNull); }
  static Value Bool(bool b);
  // NaN and infinities are Undefined: the language has no such numbers, so an arithmetic overflow
  // or a math function outside its domain (sqrt(-1)) is a failing expression.
  static Value Number(double d);
  // Views `s`, which must outlive this value and every copy of it.
  static Value StringView(absl::string_view s);
  static Value String(std::string s);
  static Value Object() { return Value(ValueKind::kObject); }
  static Value Array() { return Value(ValueKind::kArray); }

  ValueKind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == ValueKind::kUndefined; }
  bool is_null() const { return kind_ == ValueKind::kNull; }
  bool is_bool() const { return kind_ == ValueKind::kBool; }
  bool is_number() const { return kind_ == ValueKind::kNumber; }
  bool is_string() const { return kind_ == ValueKind::kString; }
  // Null, Bool, Number or String.
  bool is_primitive() const {
    return kind_ == ValueKind::kNull || kind_ == ValueKind::kBool || kind_ == ValueKind::kNumber ||
           kind_ == ValueKind::kString;
  }

  // Only meaningful for the matching kind; false, 0 and "" otherwise.
  bool boolean() const { return bool_; }
  double number() const { return number_; }
  absl::string_view string() const { return owned_ ? absl::string_view(storage_) : view_; }

  // True only for Bool true: a route fires on nothing else.
  bool IsTrue() const { return kind_ == ValueKind::kBool && bool_; }

  // For messages and tests: undefined, null, true, 3.5, 'text' (quotes escaped), object, array.
  std::string DebugString() const;

  // Same kind and same payload (numbers compared with ==, strings byte-wise).
  friend bool operator==(const Value& a, const Value& b);
  friend bool operator!=(const Value& a, const Value& b) { return !(a == b); }
  friend std::ostream& operator<<(std::ostream& os, const Value& v) {
    return os << v.DebugString();
  }

 private:
  explicit Value(ValueKind kind) : kind_(kind) {}

  ValueKind kind_ = ValueKind::kUndefined;
  bool bool_ = false;
  bool owned_ = false;
  double number_ = 0;
  absl::string_view view_;
  std::string storage_;
};

}  // namespace edge::route

#endif  // EDGE_COMMON_ROUTE_VALUE_H_
