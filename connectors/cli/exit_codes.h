// The exit codes of `liaison`, one place for all commands. Listed for users
// in docs/cli.md and in `liaison --help`; sysexits-style above 63.
#ifndef LIAISON_CONNECTORS_CLI_EXIT_CODES_H_
#define LIAISON_CONNECTORS_CLI_EXIT_CODES_H_

#include <string>

#include "absl/status/status.h"

namespace liaison::cli {

enum ExitCode : int {
  kExitOk = 0,
  kExitError = 1,         // anything not listed below (an internal error)
  kExitUsage = 2,         // unknown command or option, missing or bad argument, unknown --as
  kExitVerifyFailed = 3,  // verify/subscribe: an item did not verify; audit verify: chain broken;
                          // evidence custody: a violation
  kExitNothingFound = 4,  // audit list, evidence custody: no entries for that message id / item
  kExitDataErr = 65,  // EX_DATAERR: input refused (bad JSON, missing retention, INVALID_ARGUMENT …)
  kExitNoInput = 66,      // EX_NOINPUT: a file or certificate cannot be read
  kExitUnavailable = 69,  // EX_UNAVAILABLE: the broker is not running / refuses until state changes
  kExitTempFail = 75,     // EX_TEMPFAIL: Kafka or the broker unavailable; retrying is safe
  kExitNoPerm = 77,       // EX_NOPERM: certificate refused, not allowed
};

// The table above as printed at the end of `liaison --help`.
std::string ExitCodeHelp();

// Marks `status` as a usage error (exit 2): the user typed something the
// command cannot take, e.g. an --as id that is not in the PKI folder.
absl::Status AsUsageError(absl::Status status);

// The exit code for a failed status: a usage error is 2, else by its code
// (INVALID_ARGUMENT, ALREADY_EXISTS, RESOURCE_EXHAUSTED, OUT_OF_RANGE → 65;
// NOT_FOUND → 66; FAILED_PRECONDITION → 69; UNAVAILABLE, DEADLINE_EXCEEDED,
// ABORTED → 75; PERMISSION_DENIED, UNAUTHENTICATED → 77; others → 1).
int ExitCodeFor(const absl::Status& status);

// Prints "error: CODE: message" on stderr (usage errors: "error: message"
// and where to find help) and returns ExitCodeFor(status).
int Fail(const absl::Status& status);

}  // namespace liaison::cli

#endif  // LIAISON_CONNECTORS_CLI_EXIT_CODES_H_
