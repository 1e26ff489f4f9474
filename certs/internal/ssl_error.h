// The one place where OpenSSL's per-thread error queue becomes an
// absl::Status. Only OpenSSL's reason strings go into the message (never the
// error "data" strings, which can quote input), so no payload leaks.
#ifndef LIAISON_CERTS_INTERNAL_SSL_ERROR_H_
#define LIAISON_CERTS_INTERNAL_SSL_ERROR_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace liaison::certs::internal {

// Drains this thread's OpenSSL error queue and returns `code` with the
// message "<context>" or "<context> (<reason>; <reason>...)".
absl::Status SslError(absl::StatusCode code, absl::string_view context);

// Empties this thread's error queue. Call after an OpenSSL failure that is
// turned into a status without SslError (for example "signature does not
// verify"), so that stale entries never attach to a later error.
void ClearSslErrors();

}  // namespace liaison::certs::internal

#endif  // LIAISON_CERTS_INTERNAL_SSL_ERROR_H_
