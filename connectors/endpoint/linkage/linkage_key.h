// The network linkage key: 32 secret bytes of a numbered epoch that every
// endpoint holds and the broker never does. Blinding (blind.h) is
// HMAC-SHA256 under it.
//
// Key file (text, mode 0600, written by certs/scripts/mint-dev-pki.sh as
// PKI/linkage/epoch-<N>.key):
//
//   # comment lines and blank lines are ignored
//   format liaison-linkage-key/1
//   epoch 1
//   key 64 lower- or upper-case hex digits
#ifndef LIAISON_CONNECTORS_ENDPOINT_LINKAGE_LINKAGE_KEY_H_
#define LIAISON_CONNECTORS_ENDPOINT_LINKAGE_LINKAGE_KEY_H_

#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"

namespace liaison::endpoint::linkage {

class LinkageKey {
 public:
  static constexpr size_t kKeyBytes = 32;
  // The highest epoch a key may have.
  static constexpr uint32_t kMaxEpoch = 1'000'000;

  // InvalidArgument: epoch outside 1..kMaxEpoch, key not 32 bytes, or all
  // zero (a key file that was never filled in).
  static absl::StatusOr<LinkageKey> FromBytes(uint32_t epoch, absl::string_view key);
  // Parses the text of a key file; `source` names it in errors ("FILE:LINE:
  // epoch ..."). Errors never quote the key.
  static absl::StatusOr<LinkageKey> Parse(absl::string_view text, absl::string_view source);
  // Reads and parses PATH. NotFound / FailedPrecondition if it cannot be
  // read; FailedPrecondition if group or others may read it (mode must be
  // 0600 or stricter), since whoever reads it can test guesses.
  static absl::StatusOr<LinkageKey> Load(const std::string& path);

  uint32_t epoch() const { return epoch_; }
  // "HMAC-SHA256/epoch-N", the scheme string of liaison.v1.BlindedIdentifier.
  std::string scheme() const;
  // The secret bytes (only blind.cc needs them).
  absl::string_view bytes() const { return key_; }

 private:
  LinkageKey(uint32_t epoch, std::string key) : epoch_(epoch), key_(std::move(key)) {}
  uint32_t epoch_;
  std::string key_;
};

}  // namespace liaison::endpoint::linkage

#endif  // LIAISON_CONNECTORS_ENDPOINT_LINKAGE_LINKAGE_KEY_H_
