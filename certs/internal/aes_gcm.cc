#include "certs/internal/aes_gcm.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <climits>
#include <utility>

#include "absl/status/status.h"
#include "certs/internal/ssl_error.h"

namespace liaison::certs::internal {
namespace {

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

absl::StatusOr<SslUniquePtr<EVP_CIPHER_CTX>> NewGcmContext(std::string_view key,
                                                           GcmDirection direction) {
  if (key.size() != 32) return absl::InternalError("AES-256-GCM: the key is not 32 bytes");
  SslUniquePtr<EVP_CIPHER_CTX> ctx(EVP_CIPHER_CTX_new());
  if (ctx == nullptr) return SslError(absl::StatusCode::kInternal, "EVP_CIPHER_CTX_new");
  const EVP_CIPHER* aes = EVP_aes_256_gcm();
  const int ok = direction == GcmDirection::kSeal
                     ? EVP_EncryptInit_ex(ctx.get(), aes, nullptr, Bytes(key), nullptr)
                     : EVP_DecryptInit_ex(ctx.get(), aes, nullptr, Bytes(key), nullptr);
  if (ok != 1) return SslError(absl::StatusCode::kInternal, "AES-256-GCM: cannot set the key");
  // 12 bytes is GCM's default nonce length; say it anyway.
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kGcmNonceBytes, nullptr) != 1) {
    return SslError(absl::StatusCode::kInternal, "AES-256-GCM: cannot set the nonce length");
  }
  return ctx;
}

absl::StatusOr<std::string> GcmSeal(EVP_CIPHER_CTX* ctx, const GcmNonce& nonce,
                                    std::string_view aad, std::string_view plaintext) {
  if (plaintext.size() > INT_MAX - kGcmTagBytes || aad.size() > INT_MAX) {
    return absl::InternalError("AES-256-GCM: message too large");
  }
  std::string out(plaintext.size() + kGcmTagBytes, '\0');
  auto* dst = reinterpret_cast<unsigned char*>(out.data());
  int len = 0;
  int final_len = 0;
  if (EVP_EncryptInit_ex(ctx, nullptr, nullptr, nullptr, nonce.data()) != 1 ||
      EVP_EncryptUpdate(ctx, nullptr, &len, Bytes(aad), static_cast<int>(aad.size())) != 1 ||
      EVP_EncryptUpdate(ctx, dst, &len, Bytes(plaintext), static_cast<int>(plaintext.size())) !=
          1 ||
      EVP_EncryptFinal_ex(ctx, dst + len, &final_len) != 1 ||
      static_cast<size_t>(len + final_len) != plaintext.size() ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, kGcmTagBytes, dst + plaintext.size()) != 1) {
    return SslError(absl::StatusCode::kInternal, "AES-256-GCM: sealing failed");
  }
  return out;
}

absl::StatusOr<std::optional<std::string>> GcmOpen(EVP_CIPHER_CTX* ctx, const GcmNonce& nonce,
                                                   std::string_view aad, std::string_view sealed) {
  if (sealed.size() < kGcmTagBytes || sealed.size() > INT_MAX || aad.size() > INT_MAX) {
    return absl::InternalError("AES-256-GCM: sealed message of impossible length");
  }
  const size_t text_len = sealed.size() - kGcmTagBytes;
  std::string out(text_len, '\0');
  auto* dst = reinterpret_cast<unsigned char*>(out.data());
  // The tag is an input here; OpenSSL's prototype is not const.
  unsigned char tag[kGcmTagBytes];
  std::copy_n(Bytes(sealed) + text_len, kGcmTagBytes, tag);
  int len = 0;
  if (EVP_DecryptInit_ex(ctx, nullptr, nullptr, nullptr, nonce.data()) != 1 ||
      EVP_DecryptUpdate(ctx, nullptr, &len, Bytes(aad), static_cast<int>(aad.size())) != 1 ||
      EVP_DecryptUpdate(ctx, dst, &len, Bytes(sealed), static_cast<int>(text_len)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, kGcmTagBytes, tag) != 1) {
    return SslError(absl::StatusCode::kInternal, "AES-256-GCM: opening failed");
  }
  int final_len = 0;
  if (EVP_DecryptFinal_ex(ctx, dst + len, &final_len) != 1) {
    // The tag does not verify: the text written so far is unauthenticated.
    OPENSSL_cleanse(out.data(), out.size());
    ClearSslErrors();
    return std::optional<std::string>();
  }
  return std::optional<std::string>(std::move(out));
}

}  // namespace liaison::certs::internal
