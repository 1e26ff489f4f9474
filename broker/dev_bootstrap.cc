#include "broker/dev_bootstrap.h"

#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "base/file.h"
#include "base/log.h"

namespace liaison::broker {
namespace {

constexpr size_t kKeyBytes = 32;
constexpr size_t kMinKeyBytes = 16;

std::string Quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

absl::Status Errno(absl::string_view what, const std::string& path, int error) {
  return absl::FailedPreconditionError(
      absl::StrCat("pseudonym key ", path, ": cannot ", what, ": ", std::strerror(error)));
}

// Creates `path` holding a fresh random key, or does nothing when something
// already exists there (another process won the race, or an operator put a
// key or link there): the caller reads what is there.
absl::Status CreateKeyFile(const std::string& path) {
  // The mode is set at creation: no moment exists when the file has wider
  // permissions (a chmod after writing would leave one). The umask can only
  // narrow 0600.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return absl::OkStatus();
    return Errno("create", path, errno);
  }
  std::string key(kKeyBytes, '\0');
  size_t filled = 0;
  while (filled < key.size()) {
    const ssize_t n = ::getrandom(key.data() + filled, key.size() - filled, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int error = errno;
      ::close(fd);
      ::unlink(path.c_str());
      return Errno("draw random bytes for", path, error);
    }
    filled += static_cast<size_t>(n);
  }
  size_t written = 0;
  while (written < key.size()) {
    const ssize_t n = ::write(fd, key.data() + written, key.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int error = n < 0 ? errno : EIO;
      ::close(fd);
      ::unlink(path.c_str());
      return Errno("write", path, error);
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const int error = errno;
    ::unlink(path.c_str());
    return Errno("write", path, error);
  }
  log::Info("broker.pseudonym_key_created", {{"path", path}});
  return absl::OkStatus();
}

}  // namespace

absl::Status MintDevPki(const std::string& script, const std::string& dir) {
  const std::string command = absl::StrCat(Quoted(script), " init ", Quoted(dir));
  const int status = std::system(command.c_str());
  if (status != 0) {
    return absl::UnavailableError(absl::StrCat(
        "minting the development PKI into ", dir, " failed (", script, " exited with status ",
        WIFEXITED(status) ? WEXITSTATUS(status) : status, ")"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> PseudonymSecret(const std::string& path, bool create) {
  if (path.empty()) return absl::InvalidArgumentError("pseudonym_key_path: not set");
  if (create) {
    if (absl::Status s = CreateKeyFile(path); !s.ok()) return s;
  }
  absl::StatusOr<std::string> key = liaison::ReadFile(path);
  if (!key.ok()) {
    return absl::Status(key.status().code(),
                        absl::StrCat("pseudonym key: ", key.status().message()));
  }
  if (key->size() < kMinKeyBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("pseudonym key ", path, ": shorter than 16 bytes"));
  }
  return key;
}

}  // namespace liaison::broker
