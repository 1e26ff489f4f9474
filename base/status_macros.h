// The two status macros Debian 12's Abseil (20220623) does not ship.
#ifndef LIAISON_BASE_STATUS_MACROS_H_
#define LIAISON_BASE_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define LIAISON_CONCAT_INNER_(a, b) a##b
#define LIAISON_CONCAT_(a, b) LIAISON_CONCAT_INNER_(a, b)

// Returns the status of `expr` from the enclosing function if it is not OK.
#define LIAISON_RETURN_IF_ERROR(expr)           \
  do {                                          \
    if (absl::Status _st = (expr); !_st.ok()) { \
      return _st;                               \
    }                                           \
  } while (0)

// `lhs` = the value of the StatusOr `expr`, or returns its status.
#define LIAISON_ASSIGN_OR_RETURN(lhs, expr) \
  LIAISON_ASSIGN_OR_RETURN_IMPL_(LIAISON_CONCAT_(_status_or_, __LINE__), lhs, expr)
#define LIAISON_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                   \
  if (!tmp.ok()) return std::move(tmp).status();       \
  lhs = std::move(*tmp)

#endif  // LIAISON_BASE_STATUS_MACROS_H_
