// Early-return helpers for absl::Status and absl::StatusOr (Abseil 20220623 has neither).
//
// Example:
//   absl::StatusOr<Config> Load(const std::string& path) {
//     ASSIGN_OR_RETURN(std::string text, ReadFile(path));
//     RETURN_IF_ERROR(Validate(text));
//     return Parse(text);
//   }
#ifndef EDGE_COMMON_STATUS_MACROS_H_
#define EDGE_COMMON_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define EDGE_STATUS_CONCAT_INNER_(a, b) a##b
#define EDGE_STATUS_CONCAT_(a, b) EDGE_STATUS_CONCAT_INNER_(a, b)

// Returns the status from the enclosing function when `expr` is not OK.
#define RETURN_IF_ERROR(expr)                    \
  do {                                           \
    ::absl::Status edge_status_ = (expr);        \
    if (!edge_status_.ok()) return edge_status_; \
  } while (false)

// Evaluates `rexpr` (an absl::StatusOr<T>); on error returns its status, otherwise moves the value
// into `lhs`, which may be a declaration (`auto x`, `std::string s`) or an existing variable.
#define ASSIGN_OR_RETURN(lhs, rexpr) \
  EDGE_ASSIGN_OR_RETURN_IMPL_(EDGE_STATUS_CONCAT_(edge_statusor_, __LINE__), lhs, rexpr)

#define EDGE_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr)  \
  auto statusor = (rexpr);                                 \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()

#endif  // EDGE_COMMON_STATUS_MACROS_H_
