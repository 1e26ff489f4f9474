// End-to-end encryption of one JIT evidence item as a stream of chunks.
//
// Each item gets a fresh random 256-bit data key (DataKey). The plaintext is
// cut into chunks of kEvidenceChunkBytes (1 MiB; the last one shorter, an
// empty item is one empty chunk), and every chunk is sealed with AES-256-GCM
// under a nonce made of its index and a final-chunk flag, with associated
// data binding it to the item id, its index and the flag (the STREAM
// construction of Hoang, Reyhanitabar, Rogaway and Vizár). A chunk that is
// flipped, moved, dropped, repeated, taken from another item, or a stream cut
// before its final chunk, is refused with the index of the chunk. The exact
// byte layout is in certs/README.md ("Evidence encryption").
//
// Memory is bounded: the encryptor and decryptor keep a cipher and a digest
// context, never the item. Neither is thread-safe; use one per item and
// thread. No OpenSSL type appears here.
#ifndef LIAISON_CERTS_EVIDENCE_CRYPTO_H_
#define LIAISON_CERTS_EVIDENCE_CRYPTO_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace liaison::certs {

// Plaintext bytes of every chunk but the final one.
inline constexpr size_t kEvidenceChunkBytes = size_t{1} << 20;
// The GCM tag after each chunk's ciphertext.
inline constexpr size_t kEvidenceTagBytes = 16;
// A chunk record on the wire or in storage: ciphertext || tag.
inline constexpr size_t kEvidenceMaxRecordBytes = kEvidenceChunkBytes + kEvidenceTagBytes;
inline constexpr size_t kDataKeyBytes = 32;
// Item ids are 1..255 bytes (one length byte in the AAD and the wrap format).
inline constexpr size_t kMaxEvidenceItemIdBytes = 255;

// How many chunks an item of `size` plaintext bytes has: 1 for 0 bytes,
// otherwise ceil(size / 1 MiB). 0 for a negative size.
int64_t EvidenceChunkCount(int64_t size);

// The 256-bit AES key of one item. Copies hold the key too; every copy wipes
// its bytes when destroyed.
class DataKey {
 public:
  // 32 bytes from OpenSSL's CSPRNG. Internal if the generator fails.
  static absl::StatusOr<DataKey> Generate();
  // InvalidArgument unless exactly 32 bytes.
  static absl::StatusOr<DataKey> FromBytes(std::string_view bytes);

  DataKey(const DataKey& other) = default;
  DataKey& operator=(const DataKey& other) = default;
  ~DataKey();

  std::string_view bytes() const {
    return std::string_view(reinterpret_cast<const char*>(bytes_.data()), bytes_.size());
  }

 private:
  DataKey() = default;
  std::array<unsigned char, kDataKeyBytes> bytes_{};
};

// SHA-256 over data given in pieces (what the broker uses to check a
// ciphertext digest without holding the item). Not thread-safe.
class Sha256Stream {
 public:
  Sha256Stream();
  Sha256Stream(Sha256Stream&&) noexcept;
  Sha256Stream& operator=(Sha256Stream&&) noexcept;
  ~Sha256Stream();

  void Update(std::string_view data);
  // The 32-byte digest of everything given since construction or the last
  // Finish; starts over.
  std::string Finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Where a chunk sits in its item.
enum class ChunkPosition { kMiddle, kFinal };

// What the sender puts into the manifest once the final chunk is sealed.
struct EncryptedItemSummary {
  int64_t size = 0;              // plaintext bytes
  int64_t chunks = 0;            // records
  std::string plaintext_sha256;  // 32 raw bytes: the manifest's items[].sha256
  // 32 raw bytes: SHA-256 of every record (ciphertext || tag) in index order,
  // concatenated; what the broker can check without any key.
  std::string ciphertext_sha256;
};

// Seals one item, chunk after chunk, under a data key it generates itself
// (so a key is never used for two items, and the derived nonces never repeat).
class EvidenceEncryptor {
 public:
  // InvalidArgument if `item_id` is empty or longer than 255 bytes; Internal
  // if the random generator or OpenSSL fails.
  static absl::StatusOr<EvidenceEncryptor> Create(std::string_view item_id);

  EvidenceEncryptor(EvidenceEncryptor&&) noexcept;
  EvidenceEncryptor& operator=(EvidenceEncryptor&&) noexcept;
  ~EvidenceEncryptor();

  // The item's data key, to wrap for each recipient (key_wrap.h).
  const DataKey& key() const;
  const std::string& item_id() const;
  // The index the next EncryptChunk seals.
  int64_t next_index() const;

  // Seals the next chunk and returns its record (ciphertext || 16-byte tag).
  // A kMiddle chunk holds exactly kEvidenceChunkBytes; the kFinal chunk 0 to
  // kEvidenceChunkBytes (an item of exactly n MiB ends with a full final
  // chunk, not an empty one). InvalidArgument naming the chunk index
  // otherwise; FailedPrecondition after the final chunk or a failure.
  absl::StatusOr<std::string> EncryptChunk(std::string_view plaintext, ChunkPosition position);

  // After the final chunk: size, count and digests. FailedPrecondition before.
  absl::StatusOr<EncryptedItemSummary> Summary() const;

 private:
  struct Impl;
  explicit EvidenceEncryptor(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Opens one item's records in index order and checks them against what the
// signed manifest says (item id, plaintext size and SHA-256).
//
// DecryptChunk returns the plaintext of a chunk only once the chunk has
// authenticated; Finish then checks that the final chunk came and that the
// whole plaintext has the manifest's SHA-256. Only after Finish succeeded is
// the item verified: write chunks to a temporary file and keep it only then.
// After any error the decryptor refuses every further call
// (FailedPrecondition): nothing after a bad chunk is ever released.
class EvidenceDecryptor {
 public:
  // InvalidArgument if `item_id` is empty or longer than 255 bytes, `size` is
  // negative, or `sha256` is not 32 bytes.
  static absl::StatusOr<EvidenceDecryptor> Create(const DataKey& key, std::string_view item_id,
                                                  int64_t size, std::string_view sha256);

  EvidenceDecryptor(EvidenceDecryptor&&) noexcept;
  EvidenceDecryptor& operator=(EvidenceDecryptor&&) noexcept;
  ~EvidenceDecryptor();

  // Checks and opens the next record. InvalidArgument, the message naming
  // the item and the chunk index ("evidence item 'ITEM-7' chunk 3: ..."):
  //  - "... is N bytes, expected M": a record of the wrong length for its
  //    place (a chunk before the final one holds 1 MiB + 16 bytes);
  //  - "... comes after the final chunk (the item has N chunks)";
  //  - "... does not authenticate": flipped bits, a chunk moved, dropped or
  //    repeated, the final flag on another chunk, another item's chunk, or
  //    the wrong key.
  absl::StatusOr<std::string> DecryptChunk(std::string_view record);

  // Resuming a download: `plaintext` is chunk next_index() as an earlier run
  // already verified and wrote it (read back from the partial file). It is
  // hashed, not decrypted, and the decryptor moves on, so the download goes on
  // from the next record. InvalidArgument naming the chunk if its length is
  // not that chunk's plaintext length; the bytes themselves are checked by
  // Finish's whole-item SHA-256. FailedPrecondition after an error.
  absl::Status SkipVerifiedChunk(std::string_view plaintext);

  // After the last record. InvalidArgument "... stream ends after N of M
  // chunks: chunk N is missing" when cut short, or "... plaintext SHA-256 X
  // differs from the manifest's Y".
  absl::Status Finish();

  int64_t next_index() const;
  int64_t chunk_count() const;

 private:
  struct Impl;
  explicit EvidenceDecryptor(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace liaison::certs

#endif  // LIAISON_CERTS_EVIDENCE_CRYPTO_H_
