// AES-256-GCM on whole messages with a 12-byte nonce and a 16-byte tag, for
// the evidence stream (evidence_crypto.cc) and the key wrap (key_wrap.cc).
// Folder-private.
#ifndef LIAISON_CERTS_INTERNAL_AES_GCM_H_
#define LIAISON_CERTS_INTERNAL_AES_GCM_H_

#include <openssl/evp.h>

#include <array>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "certs/internal/ssl_unique_ptr.h"

namespace liaison::certs::internal {

inline constexpr size_t kGcmNonceBytes = 12;
inline constexpr size_t kGcmTagBytes = 16;
using GcmNonce = std::array<unsigned char, kGcmNonceBytes>;

enum class GcmDirection { kSeal, kOpen };

// A context holding the 32-byte `key`, ready for any number of messages in
// one direction. Internal if OpenSSL fails (or the key is not 32 bytes).
absl::StatusOr<SslUniquePtr<EVP_CIPHER_CTX>> NewGcmContext(std::string_view key,
                                                           GcmDirection direction);

// ciphertext || tag. The caller guarantees that (key, nonce) never repeats.
absl::StatusOr<std::string> GcmSeal(EVP_CIPHER_CTX* ctx, const GcmNonce& nonce,
                                    std::string_view aad, std::string_view plaintext);

// The plaintext of `sealed` (ciphertext || tag), or nullopt when the tag does
// not verify (nothing of the plaintext is returned then). Internal if OpenSSL
// fails otherwise; the caller checks that `sealed` holds at least the tag.
absl::StatusOr<std::optional<std::string>> GcmOpen(EVP_CIPHER_CTX* ctx, const GcmNonce& nonce,
                                                   std::string_view aad, std::string_view sealed);

}  // namespace liaison::certs::internal

#endif  // LIAISON_CERTS_INTERNAL_AES_GCM_H_
