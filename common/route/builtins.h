// The built-in functions of the condition language (names case-insensitive), with the signatures
// the compiler checks and the runtime behaviour when a dynamic argument has the wrong kind.
//
//   math    abs exp power square ceiling floor sign sqrt      numbers -> number
//   type    as_number (string or number -> number)
//           is_bool is_defined is_null is_number is_string is_array is_object is_primitive
//           (anything -> bool, never Undefined)
//   string  concat(>= 2 strings) length lower upper substring(s, start[, length])
//           index_of starts_with ends_with contains            (ordinal, code points)
//
// twin_change_includes(path) reads the message body and is compiled by the compiler itself.
//
// Example:
//   const Builtin* f = FindBuiltin("ABS");
//   Value args[] = {Value::Number(-3)};
//   f->function(args);  // Value::Number(3)
#ifndef EDGE_COMMON_ROUTE_BUILTINS_H_
#define EDGE_COMMON_ROUTE_BUILTINS_H_

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "common/route/value.h"

namespace edge::route {

// What the compiler knows about an expression's kind before any message is seen. kDynamic: only
// known at run time (a body query, or a mix such as x ?? 1). Every static type may also turn out
// Undefined at run time.
enum class StaticType { kUndefined, kNull, kBool, kNumber, kString, kDynamic };

// "undefined", "null", "a boolean", "a number", "a string", "a body value".
absl::string_view StaticTypeDescription(StaticType type);

enum class ParamType { kNumber, kString, kStringOrNumber, kAny };

struct Builtin {
  absl::string_view name;
  int min_args;
  // -1: no upper bound (concat).
  int max_args;
  // The type of argument i is params[min(i, 2)].
  ParamType params[3];
  StaticType result;
  // Type predicates see every argument, Undefined included, and always answer true or false.
  // Other functions are Undefined as soon as an argument is Undefined or of the wrong kind, and
  // `function` is only called with arguments of the declared kinds.
  bool is_type_predicate;
  // is_array / is_object / is_primitive: a body query argument keeps an object or array result.
  bool sees_containers;
  Value (*function)(absl::Span<const Value> args);
};

// The built-in called `name` (ASCII case-insensitive), or nullptr.
const Builtin* FindBuiltin(absl::string_view name);

// Whether a runtime value fits a parameter.
bool Accepts(ParamType param, const Value& value);

// Parses a whole string as a decimal number (surrounding whitespace, a sign, a fraction and an
// exponent allowed; hex, NaN and infinities not): as_number's rule. Undefined when it is not one.
Value ParseNumber(absl::string_view text);

}  // namespace edge::route

#endif  // EDGE_COMMON_ROUTE_BUILTINS_H_
