#include "common/route/builtins.h"

#include <charconv>
#include <cmath>
#include <string>
#include <system_error>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "common/route/unicode.h"

namespace edge::route {
namespace {

using Args = absl::Span<const Value>;

Value Abs(Args a) { return Value::Number(std::fabs(a[0].number())); }
Value Exp(Args a) { return Value::Number(std::exp(a[0].number())); }
Value Power(Args a) { return Value::Number(std::pow(a[0].number(), a[1].number())); }
Value Square(Args a) { return Value::Number(a[0].number() * a[0].number()); }
Value Ceiling(Args a) { return Value::Number(std::ceil(a[0].number())); }
Value Floor(Args a) { return Value::Number(std::floor(a[0].number())); }
Value Sqrt(Args a) { return Value::Number(std::sqrt(a[0].number())); }
Value Sign(Args a) {
  const double x = a[0].number();
  return Value::Number(x > 0 ? 1 : (x < 0 ? -1 : 0));
}

Value AsNumber(Args a) { return a[0].is_number() ? a[0] : ParseNumber(a[0].string()); }

Value IsBool(Args a) { return Value::Bool(a[0].is_bool()); }
Value IsDefined(Args a) { return Value::Bool(!a[0].is_undefined()); }
Value IsNull(Args a) { return Value::Bool(a[0].is_null()); }
Value IsNumber(Args a) { return Value::Bool(a[0].is_number()); }
Value IsString(Args a) { return Value::Bool(a[0].is_string()); }
Value IsArray(Args a) { return Value::Bool(a[0].kind() == ValueKind::kArray); }
Value IsObject(Args a) { return Value::Bool(a[0].kind() == ValueKind::kObject); }
Value IsPrimitive(Args a) { return Value::Bool(a[0].is_primitive()); }

Value Concat(Args a) {
  std::string out;
  for (const Value& v : a) out.append(v.string().data(), v.string().size());
  return Value::String(std::move(out));
}

Value Length(Args a) { return Value::Number(static_cast<double>(CodePointCount(a[0].string()))); }

Value Lower(Args a) { return Value::String(absl::AsciiStrToLower(a[0].string())); }
Value Upper(Args a) { return Value::String(absl::AsciiStrToUpper(a[0].string())); }

// IoT Edge's rule: start in [0, length], count in [0, length - start]; fractions are truncated
// after the range check, as a C# (int) cast does.
Value Substring(Args a) {
  const absl::string_view s = a[0].string();
  const double length = static_cast<double>(CodePointCount(s));
  const double start = a[1].number();
  if (!(start >= 0 && start <= length)) return Value::Undefined();
  const size_t first = static_cast<size_t>(start);
  const size_t begin = CodePointOffset(s, first);
  if (a.size() == 2) return Value::String(std::string(s.substr(begin)));
  const double count = a[2].number();
  if (!(count >= 0 && count <= length - static_cast<double>(first))) return Value::Undefined();
  const size_t end = CodePointOffset(s, first + static_cast<size_t>(count));
  return Value::String(std::string(s.substr(begin, end - begin)));
}

Value IndexOf(Args a) {
  const absl::string_view s = a[0].string();
  const size_t at = s.find(a[1].string());
  if (at == absl::string_view::npos) return Value::Number(-1);
  return Value::Number(static_cast<double>(CodePointCount(s.substr(0, at))));
}

Value StartsWith(Args a) { return Value::Bool(absl::StartsWith(a[0].string(), a[1].string())); }
Value EndsWith(Args a) { return Value::Bool(absl::EndsWith(a[0].string(), a[1].string())); }
Value Contains(Args a) { return Value::Bool(absl::StrContains(a[0].string(), a[1].string())); }

constexpr ParamType kN = ParamType::kNumber;
constexpr ParamType kS = ParamType::kString;
constexpr ParamType kSN = ParamType::kStringOrNumber;
constexpr ParamType kA = ParamType::kAny;

constexpr Builtin kBuiltins[] = {
    {"abs", 1, 1, {kN, kN, kN}, StaticType::kNumber, false, false, Abs},
    {"exp", 1, 1, {kN, kN, kN}, StaticType::kNumber, false, false, Exp},
    {"power", 2, 2, {kN, kN, kN}, StaticType::kNumber, false, false, Power},
    {"square", 1, 1, {kN, kN, kN}, StaticType::kNumber, false, false, Square},
    {"ceiling", 1, 1, {kN, kN, kN}, StaticType::kNumber, false, false, Ceiling},
    {"floor", 1, 1, {kN, kN, kN}, StaticType::kNumber, false, false, Floor},
    {"sign", 1, 1, {kN, kN, kN}, StaticType::kNumber, false, false, Sign},
    {"sqrt", 1, 1, {kN, kN, kN}, StaticType::kNumber, false, false, Sqrt},
    {"as_number", 1, 1, {kSN, kSN, kSN}, StaticType::kNumber, false, false, AsNumber},
    {"is_bool", 1, 1, {kA, kA, kA}, StaticType::kBool, true, false, IsBool},
    {"is_defined", 1, 1, {kA, kA, kA}, StaticType::kBool, true, false, IsDefined},
    {"is_null", 1, 1, {kA, kA, kA}, StaticType::kBool, true, false, IsNull},
    {"is_number", 1, 1, {kA, kA, kA}, StaticType::kBool, true, false, IsNumber},
    {"is_string", 1, 1, {kA, kA, kA}, StaticType::kBool, true, false, IsString},
    {"is_array", 1, 1, {kA, kA, kA}, StaticType::kBool, true, true, IsArray},
    {"is_object", 1, 1, {kA, kA, kA}, StaticType::kBool, true, true, IsObject},
    {"is_primitive", 1, 1, {kA, kA, kA}, StaticType::kBool, true, true, IsPrimitive},
    {"concat", 2, -1, {kS, kS, kS}, StaticType::kString, false, false, Concat},
    {"length", 1, 1, {kS, kS, kS}, StaticType::kNumber, false, false, Length},
    {"lower", 1, 1, {kS, kS, kS}, StaticType::kString, false, false, Lower},
    {"upper", 1, 1, {kS, kS, kS}, StaticType::kString, false, false, Upper},
    {"substring", 2, 3, {kS, kN, kN}, StaticType::kString, false, false, Substring},
    {"index_of", 2, 2, {kS, kS, kS}, StaticType::kNumber, false, false, IndexOf},
    {"starts_with", 2, 2, {kS, kS, kS}, StaticType::kBool, false, false, StartsWith},
    {"ends_with", 2, 2, {kS, kS, kS}, StaticType::kBool, false, false, EndsWith},
    {"contains", 2, 2, {kS, kS, kS}, StaticType::kBool, false, false, Contains},
};

}  // namespace

absl::string_view StaticTypeDescription(StaticType type) {
  switch (type) {
    case StaticType::kUndefined:
      return "undefined";
    case StaticType::kNull:
      return "null";
    case StaticType::kBool:
      return "a boolean";
    case StaticType::kNumber:
      return "a number";
    case StaticType::kString:
      return "a string";
    case StaticType::kDynamic:
      return "a body value";
  }
  return "a value";
}

const Builtin* FindBuiltin(absl::string_view name) {
  for (const Builtin& b : kBuiltins) {
    if (absl::EqualsIgnoreCase(b.name, name)) return &b;
  }
  return nullptr;
}

bool Accepts(ParamType param, const Value& value) {
  switch (param) {
    case ParamType::kNumber:
      return value.is_number();
    case ParamType::kString:
      return value.is_string();
    case ParamType::kStringOrNumber:
      return value.is_string() || value.is_number();
    case ParamType::kAny:
      return true;
  }
  return false;
}

Value ParseNumber(absl::string_view text) {
  text = absl::StripAsciiWhitespace(text);
  if (absl::StartsWith(text, "+") && !absl::StartsWith(text, "+-")) text.remove_prefix(1);
  if (text.empty()) return Value::Undefined();
  // from_chars would also take "inf" and "nan"; the language has neither.
  const char first = text.front() == '-' && text.size() > 1 ? text[1] : text.front();
  if (!absl::ascii_isdigit(static_cast<unsigned char>(first)) && first != '.') {
    return Value::Undefined();
  }
  double value = 0;
  const std::from_chars_result result =
      std::from_chars(text.data(), text.data() + text.size(), value);
  if (result.ec != std::errc() || result.ptr != text.data() + text.size()) {
    return Value::Undefined();
  }
  return Value::Number(value);
}

}  // namespace edge::route
