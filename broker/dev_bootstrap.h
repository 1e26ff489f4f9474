// The local files of a development node: the development PKI that
// certs/scripts/mint-dev-pki.sh mints into the state folder, and the
// pseudonymisation secret. main.cc mints the PKI only with embedded Kafka;
// Broker::Start reads (and in that mode creates) the pseudonym key.
#ifndef LIAISON_BROKER_DEV_BOOTSTRAP_H_
#define LIAISON_BROKER_DEV_BOOTSTRAP_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace liaison::broker {

// Runs `script init dir` (certs/scripts/mint-dev-pki.sh). Unavailable when
// the script fails, naming the folder and its exit status; the script's own
// output goes to the terminal.
absl::Status MintDevPki(const std::string& script, const std::string& dir);

// The network-wide pseudonymisation secret read from `path`.
//
// When `path` does not exist and `create` is set, 32 random bytes are
// written there first. The file is created by open(O_CREAT | O_EXCL,
// 0600): it is never readable by group or others, not even for an instant
// and whatever the umask; a file (or a symbolic link, even a dangling one)
// that appears there meanwhile is never written through; a failed write
// leaves no file behind.
//
// Errors: InvalidArgument when `path` is empty or the key is shorter than
// 16 bytes; the read or create error of the file otherwise, naming it.
absl::StatusOr<std::string> PseudonymSecret(const std::string& path, bool create);

}  // namespace liaison::broker

#endif  // LIAISON_BROKER_DEV_BOOTSTRAP_H_
