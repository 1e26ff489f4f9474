#include "certs/evidence_crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstdlib>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/safe_text.h"
#include "base/status_macros.h"
#include "certs/internal/aes_gcm.h"
#include "certs/internal/evidence_item.h"
#include "certs/internal/ssl_error.h"
#include "certs/internal/ssl_unique_ptr.h"
#include "certs/signature.h"

namespace liaison::certs {

using internal::CheckEvidenceItemId;
using internal::EvidenceItemLabel;
using internal::GcmDirection;
using internal::GcmNonce;
using internal::SslUniquePtr;

namespace {

// The label that starts every chunk's associated data (certs/README.md).
constexpr std::string_view kChunkAadLabel = "liaison-evidence-chunk-v1";

// Nonce of chunk `index`: 3 zero bytes || index (8 bytes, big-endian) ||
// final flag (1 byte). The key is fresh per item, so (key, nonce) repeats
// only if an index does, which the encryptor's counter rules out.
GcmNonce ChunkNonce(int64_t index, ChunkPosition position) {
  GcmNonce nonce{};
  const auto u = static_cast<uint64_t>(index);
  for (int i = 0; i < 8; ++i) nonce[3 + i] = static_cast<unsigned char>(u >> (56 - 8 * i));
  nonce[11] = position == ChunkPosition::kFinal ? 1 : 0;
  return nonce;
}

// Label || len(item id) (1 byte) || item id || index (8 bytes, big-endian) ||
// final flag (1 byte).
std::string ChunkAad(std::string_view item_id, int64_t index, ChunkPosition position) {
  std::string aad;
  aad.reserve(kChunkAadLabel.size() + 1 + item_id.size() + 9);
  aad.append(kChunkAadLabel);
  aad.push_back(static_cast<char>(item_id.size()));
  aad.append(item_id);
  const GcmNonce nonce = ChunkNonce(index, position);
  aad.append(reinterpret_cast<const char*>(nonce.data()) + 3, 9);
  return aad;
}

}  // namespace

int64_t EvidenceChunkCount(int64_t size) {
  if (size < 0) return 0;
  if (size == 0) return 1;
  const auto chunk = static_cast<int64_t>(kEvidenceChunkBytes);
  return (size - 1) / chunk + 1;
}

// ---------------------------------------------------------------- DataKey

DataKey::~DataKey() { OPENSSL_cleanse(bytes_.data(), bytes_.size()); }

absl::StatusOr<DataKey> DataKey::Generate() {
  DataKey key;
  if (RAND_bytes(key.bytes_.data(), static_cast<int>(key.bytes_.size())) != 1) {
    return internal::SslError(absl::StatusCode::kInternal, "data key: RAND_bytes failed");
  }
  return key;
}

absl::StatusOr<DataKey> DataKey::FromBytes(std::string_view bytes) {
  if (bytes.size() != kDataKeyBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("data key is ", bytes.size(), " bytes, expected ", kDataKeyBytes));
  }
  DataKey key;
  std::copy(bytes.begin(), bytes.end(), key.bytes_.begin());
  return key;
}

// ---------------------------------------------------------------- Sha256Stream

struct Sha256Stream::Impl {
  SslUniquePtr<EVP_MD_CTX> ctx;
  void Reset() {
    // Fails only when memory runs out.
    if (EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) std::abort();
  }
};

Sha256Stream::Sha256Stream() : impl_(std::make_unique<Impl>()) {
  impl_->ctx.reset(EVP_MD_CTX_new());
  if (impl_->ctx == nullptr) std::abort();
  impl_->Reset();
}
Sha256Stream::Sha256Stream(Sha256Stream&&) noexcept = default;
Sha256Stream& Sha256Stream::operator=(Sha256Stream&&) noexcept = default;
Sha256Stream::~Sha256Stream() = default;

void Sha256Stream::Update(std::string_view data) {
  if (EVP_DigestUpdate(impl_->ctx.get(), data.data(), data.size()) != 1) std::abort();
}

std::string Sha256Stream::Finish() {
  std::string digest(32, '\0');
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(impl_->ctx.get(), reinterpret_cast<unsigned char*>(digest.data()), &len) !=
          1 ||
      len != 32) {
    std::abort();
  }
  impl_->Reset();
  return digest;
}

// ---------------------------------------------------------------- encryptor

struct EvidenceEncryptor::Impl {
  Impl(DataKey k, std::string id) : key(std::move(k)), item_id(std::move(id)) {}
  DataKey key;
  std::string item_id;
  SslUniquePtr<EVP_CIPHER_CTX> ctx;
  int64_t next_index = 0;
  int64_t size = 0;
  bool finished = false;  // the final chunk is sealed
  bool failed = false;
  Sha256Stream plaintext_digest;
  Sha256Stream ciphertext_digest;
  EncryptedItemSummary summary;
};

EvidenceEncryptor::EvidenceEncryptor(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
EvidenceEncryptor::EvidenceEncryptor(EvidenceEncryptor&&) noexcept = default;
EvidenceEncryptor& EvidenceEncryptor::operator=(EvidenceEncryptor&&) noexcept = default;
EvidenceEncryptor::~EvidenceEncryptor() = default;

absl::StatusOr<EvidenceEncryptor> EvidenceEncryptor::Create(std::string_view item_id) {
  LIAISON_RETURN_IF_ERROR(CheckEvidenceItemId(item_id));
  LIAISON_ASSIGN_OR_RETURN(DataKey key, DataKey::Generate());
  auto impl = std::make_unique<Impl>(std::move(key), std::string(item_id));
  LIAISON_ASSIGN_OR_RETURN(impl->ctx,
                           internal::NewGcmContext(impl->key.bytes(), GcmDirection::kSeal));
  return EvidenceEncryptor(std::move(impl));
}

const DataKey& EvidenceEncryptor::key() const { return impl_->key; }
const std::string& EvidenceEncryptor::item_id() const { return impl_->item_id; }
int64_t EvidenceEncryptor::next_index() const { return impl_->next_index; }

absl::StatusOr<std::string> EvidenceEncryptor::EncryptChunk(std::string_view plaintext,
                                                            ChunkPosition position) {
  Impl& s = *impl_;
  const int64_t index = s.next_index;
  if (s.finished || s.failed) {
    return absl::FailedPreconditionError(
        absl::StrCat(EvidenceItemLabel(s.item_id), " chunk ", index,
                     s.failed ? ": the encryptor stopped after a failure"
                              : ": the final chunk is sealed already"));
  }
  if (position == ChunkPosition::kMiddle && plaintext.size() != kEvidenceChunkBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        EvidenceItemLabel(s.item_id), " chunk ", index, ": a chunk before the final one holds ",
        kEvidenceChunkBytes, " bytes, not ", plaintext.size()));
  }
  if (plaintext.size() > kEvidenceChunkBytes) {
    return absl::InvalidArgumentError(absl::StrCat(EvidenceItemLabel(s.item_id), " chunk ", index,
                                                   ": ", plaintext.size(), " bytes, at most ",
                                                   kEvidenceChunkBytes));
  }
  absl::StatusOr<std::string> record = internal::GcmSeal(
      s.ctx.get(), ChunkNonce(index, position), ChunkAad(s.item_id, index, position), plaintext);
  if (!record.ok()) {
    s.failed = true;
    return record.status();
  }
  s.plaintext_digest.Update(plaintext);
  s.ciphertext_digest.Update(*record);
  s.size += static_cast<int64_t>(plaintext.size());
  s.next_index = index + 1;
  if (position == ChunkPosition::kFinal) {
    s.finished = true;
    s.summary.size = s.size;
    s.summary.chunks = s.next_index;
    s.summary.plaintext_sha256 = s.plaintext_digest.Finish();
    s.summary.ciphertext_sha256 = s.ciphertext_digest.Finish();
  }
  return record;
}

absl::StatusOr<EncryptedItemSummary> EvidenceEncryptor::Summary() const {
  if (!impl_->finished) {
    return absl::FailedPreconditionError(absl::StrCat(
        EvidenceItemLabel(impl_->item_id), ": no summary before the final chunk is sealed (",
        impl_->next_index, " chunks so far)"));
  }
  return impl_->summary;
}

// ---------------------------------------------------------------- decryptor

struct EvidenceDecryptor::Impl {
  std::string item_id;
  int64_t size = 0;
  int64_t chunks = 0;
  std::string expected_sha256;
  SslUniquePtr<EVP_CIPHER_CTX> ctx;
  int64_t next_index = 0;
  int64_t plaintext_bytes = 0;
  bool failed = false;
  bool finished = false;
  Sha256Stream digest;

  absl::Status Fail(absl::Status status) {
    failed = true;
    return status;
  }
  // Whether chunk `next_index` may come: not after an error or Finish, not
  // past the final chunk. `at` names the chunk in the error.
  absl::Status CheckMayContinue(const std::string& at) {
    if (failed || finished) {
      return absl::FailedPreconditionError(
          absl::StrCat(at, failed ? ": the decryptor stopped at an earlier error"
                                  : ": the decryptor is finished"));
    }
    if (next_index >= chunks) {
      return Fail(absl::InvalidArgumentError(
          absl::StrCat(at, " comes after the final chunk (the item has ", chunks, " chunks)")));
    }
    return absl::OkStatus();
  }
  // Record length of chunk `index`: a full chunk before the final one; the
  // rest of the item in the final one.
  size_t ExpectedRecordBytes(int64_t index) const {
    const auto chunk = static_cast<int64_t>(kEvidenceChunkBytes);
    const int64_t text = index + 1 < chunks ? chunk : size - (chunks - 1) * chunk;
    return static_cast<size_t>(text) + kEvidenceTagBytes;
  }
};

EvidenceDecryptor::EvidenceDecryptor(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
EvidenceDecryptor::EvidenceDecryptor(EvidenceDecryptor&&) noexcept = default;
EvidenceDecryptor& EvidenceDecryptor::operator=(EvidenceDecryptor&&) noexcept = default;
EvidenceDecryptor::~EvidenceDecryptor() = default;

absl::StatusOr<EvidenceDecryptor> EvidenceDecryptor::Create(const DataKey& key,
                                                            std::string_view item_id, int64_t size,
                                                            std::string_view sha256) {
  LIAISON_RETURN_IF_ERROR(CheckEvidenceItemId(item_id));
  if (size < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(EvidenceItemLabel(item_id), ": negative size ", size));
  }
  if (sha256.size() != 32) {
    return absl::InvalidArgumentError(absl::StrCat(EvidenceItemLabel(item_id),
                                                   ": the manifest's SHA-256 is ", sha256.size(),
                                                   " bytes, expected 32"));
  }
  auto impl = std::make_unique<Impl>();
  impl->item_id = std::string(item_id);
  impl->size = size;
  impl->chunks = EvidenceChunkCount(size);
  impl->expected_sha256 = std::string(sha256);
  LIAISON_ASSIGN_OR_RETURN(impl->ctx, internal::NewGcmContext(key.bytes(), GcmDirection::kOpen));
  return EvidenceDecryptor(std::move(impl));
}

int64_t EvidenceDecryptor::next_index() const { return impl_->next_index; }
int64_t EvidenceDecryptor::chunk_count() const { return impl_->chunks; }

absl::StatusOr<std::string> EvidenceDecryptor::DecryptChunk(std::string_view record) {
  Impl& s = *impl_;
  const int64_t index = s.next_index;
  const std::string at = absl::StrCat(EvidenceItemLabel(s.item_id), " chunk ", index);
  LIAISON_RETURN_IF_ERROR(s.CheckMayContinue(at));
  const bool final_chunk = index + 1 == s.chunks;
  const size_t expected = s.ExpectedRecordBytes(index);
  if (record.size() != expected) {
    return s.Fail(absl::InvalidArgumentError(absl::StrCat(
        at, " is ", record.size(), " bytes, expected ", expected,
        final_chunk ? absl::StrCat(" (the final chunk of ", s.chunks, ")")
                    : absl::StrCat(" (chunk ", index, " of ", s.chunks, " is a full chunk)"))));
  }
  const ChunkPosition position = final_chunk ? ChunkPosition::kFinal : ChunkPosition::kMiddle;
  absl::StatusOr<std::optional<std::string>> opened = internal::GcmOpen(
      s.ctx.get(), ChunkNonce(index, position), ChunkAad(s.item_id, index, position), record);
  if (!opened.ok()) return s.Fail(opened.status());
  if (!opened->has_value()) {
    return s.Fail(absl::InvalidArgumentError(absl::StrCat(
        at, final_chunk ? absl::StrCat(" (the final chunk of ", s.chunks, ")") : std::string(),
        " does not authenticate: tampered, moved, dropped or repeated, from another item, or "
        "the wrong key")));
  }
  s.digest.Update(**opened);
  s.plaintext_bytes += static_cast<int64_t>((*opened)->size());
  s.next_index = index + 1;
  return std::move(**opened);
}

absl::Status EvidenceDecryptor::SkipVerifiedChunk(std::string_view plaintext) {
  Impl& s = *impl_;
  const int64_t index = s.next_index;
  const std::string at = absl::StrCat(EvidenceItemLabel(s.item_id), " chunk ", index);
  LIAISON_RETURN_IF_ERROR(s.CheckMayContinue(at));
  const size_t expected = s.ExpectedRecordBytes(index) - kEvidenceTagBytes;
  if (plaintext.size() != expected) {
    return s.Fail(absl::InvalidArgumentError(absl::StrCat(
        at, ": the resumed plaintext is ", plaintext.size(), " bytes, expected ", expected)));
  }
  s.digest.Update(plaintext);
  s.plaintext_bytes += static_cast<int64_t>(plaintext.size());
  s.next_index = index + 1;
  return absl::OkStatus();
}

absl::Status EvidenceDecryptor::Finish() {
  Impl& s = *impl_;
  if (s.failed || s.finished) {
    return absl::FailedPreconditionError(absl::StrCat(
        EvidenceItemLabel(s.item_id),
        s.failed ? ": the decryptor stopped at an earlier error" : ": the decryptor is finished"));
  }
  if (s.next_index < s.chunks) {
    return s.Fail(absl::InvalidArgumentError(
        absl::StrCat(EvidenceItemLabel(s.item_id), ": stream ends after ", s.next_index, " of ",
                     s.chunks, " chunks: chunk ", s.next_index,
                     s.next_index + 1 == s.chunks ? " (the final one)" : "", " is missing")));
  }
  // The record lengths fix the size; this only guards the arithmetic.
  if (s.plaintext_bytes != s.size) {
    return s.Fail(
        absl::InternalError(absl::StrCat(EvidenceItemLabel(s.item_id), ": ", s.plaintext_bytes,
                                         " plaintext bytes, the manifest says ", s.size)));
  }
  const std::string digest = s.digest.Finish();
  if (digest != s.expected_sha256) {
    return s.Fail(absl::InvalidArgumentError(
        absl::StrCat(EvidenceItemLabel(s.item_id), ": plaintext SHA-256 ", HexEncode(digest),
                     " differs from the manifest's ", HexEncode(s.expected_sha256))));
  }
  s.finished = true;
  return absl::OkStatus();
}

}  // namespace liaison::certs
