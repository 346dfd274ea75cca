#include "common/route/value.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace edge::route {

absl::string_view ValueKindName(ValueKind kind) {
  switch (kind) {
    case ValueKind::kUndefined:
      return "undefined";
    case ValueKind::kNull:
      return "null";
    case ValueKind::kBool:
      return "bool";
    case ValueKind::kNumber:
      return "number";
    case ValueKind::kString:
      return "string";
    case ValueKind::kObject:
      return "object";
    case ValueKind::kArray:
      return "array";
  }
  return "unknown";
}

Value Value::Bool(bool b) {
  Value v(ValueKind::kBool);
  v.bool_ = b;
  return v;
}

Value Value::Number(double d) {
  if (!std::isfinite(d)) return Value();
  Value v(ValueKind::kNumber);
  v.number_ = d;
  return v;
}

Value Value::StringView(absl::string_view s) {
  Value v(ValueKind::kString);
  v.view_ = s;
  return v;
}

Value Value::String(std::string s) {
  Value v(ValueKind::kString);
  v.owned_ = true;
  v.storage_ = std::move(s);
  return v;
}

std::string Value::DebugString() const {
  switch (kind_) {
    case ValueKind::kBool:
      return bool_ ? "true" : "false";
    case ValueKind::kNumber:
      return absl::StrCat(number_);
    case ValueKind::kString:
      return absl::StrCat("'", absl::StrReplaceAll(string(), {{"\\", "\\\\"}, {"'", "\\'"}}), "'");
    default:
      return std::string(ValueKindName(kind_));
  }
}

bool operator==(const Value& a, const Value& b) {
  if (a.kind_ != b.kind_) return false;
  switch (a.kind_) {
    case ValueKind::kBool:
      return a.bool_ == b.bool_;
    case ValueKind::kNumber:
      return a.number_ == b.number_;
    case ValueKind::kString:
      return a.string() == b.string();
    default:
      return true;
  }
}

}  // namespace edge::route
