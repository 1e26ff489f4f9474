#include "connectors/cli/exit_codes.h"

#include <iostream>

namespace liaison::cli {
namespace {
constexpr char kUsagePayload[] = "liaison.cli/usage";
}  // namespace

std::string ExitCodeHelp() {
  return "Exit codes:\n"
         "  0   success\n"
         "  1   error not listed below (internal)\n"
         "  2   usage: unknown command or option, missing or bad argument, unknown --as id\n"
         "  3   verification failed (verify, subscribe; audit verify: chain broken; evidence "
         "custody: a violation)\n"
         "  4   audit list: no entries for that message id; evidence custody: none for the item\n"
         "  65  input refused: bad JSON or message, missing retention limits (INVALID_ARGUMENT …)\n"
         "  66  a file or certificate cannot be read\n"
         "  69  broker not running, or refusing until its state changes (FAILED_PRECONDITION)\n"
         "  75  temporarily unavailable (Kafka, broker): retry; re-sending the same envelope is "
         "safe\n"
         "  77  permission denied: certificate refused or not allowed\n";
}

absl::Status AsUsageError(absl::Status status) {
  status.SetPayload(kUsagePayload, absl::Cord("1"));
  return status;
}

int ExitCodeFor(const absl::Status& status) {
  if (status.ok()) return kExitOk;
  if (status.GetPayload(kUsagePayload).has_value()) return kExitUsage;
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kOutOfRange:
      return kExitDataErr;
    case absl::StatusCode::kNotFound:
      return kExitNoInput;
    case absl::StatusCode::kFailedPrecondition:
      return kExitUnavailable;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kAborted:
      return kExitTempFail;
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kUnauthenticated:
      return kExitNoPerm;
    default:
      return kExitError;
  }
}

int Fail(const absl::Status& status) {
  const int code = ExitCodeFor(status);
  if (code == kExitUsage) {
    std::cerr << "error: " << status.message() << "\n";
  } else {
    std::cerr << "error: " << absl::StatusCodeToString(status.code()) << ": " << status.message()
              << "\n";
  }
  return code;
}

}  // namespace liaison::cli
