#include "certs/internal/ssl_error.h"

#include <openssl/err.h>

#include <string>

#include "absl/strings/str_cat.h"

namespace liaison::certs::internal {
namespace {
// A malformed input can push dozens of entries (one per ASN.1 nesting level);
// the first few say what went wrong.
constexpr int kMaxReasons = 4;
}  // namespace

absl::Status SslError(absl::StatusCode code, absl::string_view context) {
  std::string reasons;
  int count = 0;
  for (unsigned long e = ERR_get_error(); e != 0; e = ERR_get_error()) {
    if (count++ >= kMaxReasons) continue;  // keep draining
    const char* reason = ERR_reason_error_string(e);
    if (!reasons.empty()) absl::StrAppend(&reasons, "; ");
    if (reason != nullptr) {
      absl::StrAppend(&reasons, reason);
    } else {
      absl::StrAppend(&reasons, "openssl error ", ERR_GET_LIB(e), ":", ERR_GET_REASON(e));
    }
  }
  if (reasons.empty()) return absl::Status(code, context);
  return absl::Status(code, absl::StrCat(context, " (", reasons, ")"));
}

void ClearSslErrors() { ERR_clear_error(); }

}  // namespace liaison::certs::internal
