// The evidence stream (evidence_crypto.h): round trips, every way a stored
// stream can be tampered with, misuse, and the byte format of
// certs/README.md re-implemented here from its text with OpenSSL directly.
#include "certs/evidence_crypto.h"

#include <openssl/evp.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "base/testing/status_matchers.h"
#include "certs/signature.h"
#include "gtest/gtest.h"

namespace liaison::certs {
namespace {

using testing::IsError;

constexpr int64_t kMiB = int64_t{1} << 20;

// Deterministic bytes that are not all alike (xorshift64*).
std::string Plaintext(int64_t size, uint64_t seed = 88172645463325252ull) {
  std::string out(static_cast<size_t>(size), '\0');
  uint64_t x = seed;
  for (char& c : out) {
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    c = static_cast<char>((x * 2685821657736338717ull) >> 56);
  }
  return out;
}

struct Sealed {
  std::vector<std::string> records;
  DataKey key;
  EncryptedItemSummary summary;
};

// Encrypts `plaintext` as item `item_id` in 1 MiB chunks.
Sealed Seal(const std::string& plaintext, const std::string& item_id = "ITEM-1") {
  absl::StatusOr<EvidenceEncryptor> enc = EvidenceEncryptor::Create(item_id);
  EXPECT_TRUE(enc.ok()) << enc.status();
  std::vector<std::string> records;
  const int64_t chunks = EvidenceChunkCount(static_cast<int64_t>(plaintext.size()));
  for (int64_t i = 0; i < chunks; ++i) {
    const bool last = i + 1 == chunks;
    const std::string_view text = std::string_view(plaintext).substr(
        static_cast<size_t>(i * kMiB), last ? std::string::npos : static_cast<size_t>(kMiB));
    absl::StatusOr<std::string> record =
        enc->EncryptChunk(text, last ? ChunkPosition::kFinal : ChunkPosition::kMiddle);
    EXPECT_TRUE(record.ok()) << record.status();
    records.push_back(*std::move(record));
  }
  absl::StatusOr<EncryptedItemSummary> summary = enc->Summary();
  EXPECT_TRUE(summary.ok()) << summary.status();
  return Sealed{std::move(records), enc->key(), *std::move(summary)};
}

// Decrypts `records` in order: the plaintext, or the first error (from
// DecryptChunk, else from Finish).
absl::StatusOr<std::string> Open(const DataKey& key, const std::string& item_id, int64_t size,
                                 const std::string& sha256,
                                 const std::vector<std::string>& records) {
  absl::StatusOr<EvidenceDecryptor> dec = EvidenceDecryptor::Create(key, item_id, size, sha256);
  if (!dec.ok()) return dec.status();
  std::string out;
  for (const std::string& record : records) {
    absl::StatusOr<std::string> text = dec->DecryptChunk(record);
    if (!text.ok()) {
      // Nothing more comes out of a decryptor that refused a chunk.
      EXPECT_TRUE(IsError(dec->DecryptChunk(record), absl::StatusCode::kFailedPrecondition,
                          "stopped at an earlier error"));
      EXPECT_TRUE(IsError(dec->Finish(), absl::StatusCode::kFailedPrecondition,
                          "stopped at an earlier error"));
      return text.status();
    }
    out += *text;
  }
  absl::Status finished = dec->Finish();
  if (!finished.ok()) return finished;
  return out;
}

// ---------------------------------------------------------------- round trips

struct RoundTrip {
  const char* name;
  int64_t size;
  int64_t chunks;
};
void PrintTo(const RoundTrip& r, std::ostream* os) { *os << r.name; }

class EvidenceStreamRoundTrip : public ::testing::TestWithParam<RoundTrip> {};

TEST_P(EvidenceStreamRoundTrip, DecryptsWhatWasEncrypted) {
  const RoundTrip& r = GetParam();
  const std::string plaintext = Plaintext(r.size);
  const Sealed sealed = Seal(plaintext);
  ASSERT_EQ(static_cast<int64_t>(sealed.records.size()), r.chunks);
  EXPECT_EQ(EvidenceChunkCount(r.size), r.chunks);
  std::string concatenated;
  for (size_t i = 0; i < sealed.records.size(); ++i) {
    const bool last = i + 1 == sealed.records.size();
    const int64_t text = last ? r.size - (r.chunks - 1) * kMiB : kMiB;
    EXPECT_EQ(static_cast<int64_t>(sealed.records[i].size()), text + 16) << "chunk " << i;
    concatenated += sealed.records[i];
  }
  EXPECT_EQ(sealed.summary.size, r.size);
  EXPECT_EQ(sealed.summary.chunks, r.chunks);
  EXPECT_EQ(sealed.summary.plaintext_sha256, Sha256(plaintext));
  EXPECT_EQ(sealed.summary.ciphertext_sha256, Sha256(concatenated));

  LIAISON_ASSERT_OK_AND_ASSIGN(
      std::string opened,
      Open(sealed.key, "ITEM-1", r.size, sealed.summary.plaintext_sha256, sealed.records));
  EXPECT_TRUE(opened == plaintext);  // not EXPECT_EQ: no MiB of bytes in a failure
}

INSTANTIATE_TEST_SUITE_P(EvidenceStream, EvidenceStreamRoundTrip,
                         ::testing::Values(RoundTrip{"EmptyItemIsOneEmptyFinalChunk", 0, 1},
                                           RoundTrip{"OneByte", 1, 1},
                                           RoundTrip{"ExactlyOneMiBIsOneFullFinalChunk", kMiB, 1},
                                           RoundTrip{"OneMiBPlusOneByte", kMiB + 1, 2},
                                           RoundTrip{"SeveralMiB", 5 * kMiB + 12345, 6}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(EvidenceStream, EachItemHasItsOwnKeyAndCiphertext) {
  const std::string plaintext = Plaintext(1000);
  const Sealed a = Seal(plaintext);
  const Sealed b = Seal(plaintext);
  EXPECT_NE(a.key.bytes(), b.key.bytes());
  EXPECT_NE(a.records[0], b.records[0]);
  EXPECT_EQ(a.summary.plaintext_sha256, b.summary.plaintext_sha256);
}

// ---------------------------------------------------------------- tampering

void Keep(std::vector<std::string>&) {}

// One way a stored stream goes wrong between the encryptor and the
// decryptor, and the error that must name it.
struct Tamper {
  const char* name = "";
  int64_t size = 0;  // plaintext size of the item
  void (*change)(std::vector<std::string>& records) = Keep;
  const char* item_id = "ITEM-1";  // the decryptor's item id
  bool wrong_key = false;
  int64_t claimed_size = -1;  // the manifest's size; -1: the real one
  bool wrong_sha256 = false;
  const char* error = "";
};
void PrintTo(const Tamper& t, std::ostream* os) { *os << t.name; }

class EvidenceStreamRefuses : public ::testing::TestWithParam<Tamper> {};

TEST_P(EvidenceStreamRefuses, TheTamperedStream) {
  const Tamper& t = GetParam();
  const std::string plaintext = Plaintext(t.size);
  Sealed sealed = Seal(plaintext);
  t.change(sealed.records);
  DataKey key = sealed.key;
  if (t.wrong_key) {
    LIAISON_ASSERT_OK_AND_ASSIGN(key, DataKey::Generate());
  }
  std::string sha256 = sealed.summary.plaintext_sha256;
  if (t.wrong_sha256) sha256 = Sha256("another item");
  const int64_t size = t.claimed_size >= 0 ? t.claimed_size : t.size;
  EXPECT_TRUE(IsError(Open(key, t.item_id, size, sha256, sealed.records),
                      absl::StatusCode::kInvalidArgument, t.error));
}

INSTANTIATE_TEST_SUITE_P(
    EvidenceStream, EvidenceStreamRefuses,
    ::testing::Values(
        Tamper{.name = "FlippedCiphertextBit",
               .size = 2 * kMiB + kMiB / 2,
               .change = [](auto& r) { r[1][1000] ^= 0x01; },
               .error = "evidence item 'ITEM-1' chunk 1 does not authenticate"},
        Tamper{.name = "FlippedTagBitOfTheFinalChunk",
               .size = 2 * kMiB + kMiB / 2,
               .change = [](auto& r) { r[2].back() ^= 0x80; },
               .error = "evidence item 'ITEM-1' chunk 2 (the final chunk of 3) does not "
                        "authenticate"},
        Tamper{.name = "SwappedChunks",
               .size = 4 * kMiB,
               .change = [](auto& r) { std::swap(r[1], r[2]); },
               .error = "evidence item 'ITEM-1' chunk 1 does not authenticate"},
        Tamper{.name = "DroppedMiddleChunk",
               .size = 4 * kMiB,
               .change = [](auto& r) { r.erase(r.begin() + 1); },
               .error = "evidence item 'ITEM-1' chunk 1 does not authenticate"},
        Tamper{.name = "DroppedMiddleChunkBringsTheShortFinalOneForward",
               .size = 2 * kMiB + kMiB / 2,
               .change = [](auto& r) { r.erase(r.begin() + 1); },
               .error = "evidence item 'ITEM-1' chunk 1 is 524304 bytes, expected 1048592 "
                        "(chunk 1 of 3 is a full chunk)"},
        Tamper{.name = "DroppedFinalChunk",
               .size = 2 * kMiB + kMiB / 2,
               .change = [](auto& r) { r.pop_back(); },
               .error = "evidence item 'ITEM-1': stream ends after 2 of 3 chunks: chunk 2 (the "
                        "final one) is missing"},
        Tamper{.name = "StreamCutAfterTheFirstChunk",
               .size = 4 * kMiB,
               .change = [](auto& r) { r.resize(1); },
               .error = "evidence item 'ITEM-1': stream ends after 1 of 4 chunks: chunk 1 is "
                        "missing"},
        Tamper{.name = "NoChunkAtAll",
               .size = 0,
               .change = [](auto& r) { r.clear(); },
               .error = "stream ends after 0 of 1 chunks: chunk 0 (the final one) is missing"},
        Tamper{.name = "DuplicatedChunk",
               .size = 4 * kMiB,
               .change = [](auto& r) { r[2] = r[1]; },
               .error = "evidence item 'ITEM-1' chunk 2 does not authenticate"},
        Tamper{.name = "ChunkAfterTheFinalOne",
               .size = 2 * kMiB + kMiB / 2,
               .change = [](auto& r) { r.push_back(r.back()); },
               .error = "evidence item 'ITEM-1' chunk 3 comes after the final chunk (the item "
                        "has 3 chunks)"},
        Tamper{.name = "ChunksOfAnotherItemId",
               .size = 1000,
               .item_id = "ITEM-2",
               .error = "evidence item 'ITEM-2' chunk 0 (the final chunk of 1) does not "
                        "authenticate"},
        Tamper{.name = "WrongKey",
               .size = 2 * kMiB,
               .wrong_key = true,
               .error = "evidence item 'ITEM-1' chunk 0 does not authenticate"},
        // A manifest claiming fewer bytes makes a middle chunk the final one:
        // its final flag is authenticated, so it does not open as final.
        Tamper{.name = "FinalFlagExpectedOnAMiddleChunk",
               .size = 3 * kMiB,
               .claimed_size = 2 * kMiB,
               .error = "evidence item 'ITEM-1' chunk 1 (the final chunk of 2) does not "
                        "authenticate"},
        Tamper{.name = "ManifestSha256OfOtherContent",
               .size = kMiB + 7,
               .wrong_sha256 = true,
               .error = "evidence item 'ITEM-1': plaintext SHA-256 "}),
    [](const auto& info) { return std::string(info.param.name); });

// ---------------------------------------------------------------- format

// The format of certs/README.md, written again from the text with OpenSSL:
// nonce = 00 00 00 || be64(index) || flag; AAD = "liaison-evidence-chunk-v1"
// || u8 len || item id || be64(index) || flag; record = ciphertext || tag.
std::string ReferenceSeal(const DataKey& key, const std::string& item_id, uint64_t index,
                          bool final, const std::string& plaintext) {
  unsigned char nonce[12] = {};
  for (int i = 0; i < 8; ++i) nonce[3 + i] = static_cast<unsigned char>(index >> (56 - 8 * i));
  nonce[11] = final ? 1 : 0;
  std::string aad = "liaison-evidence-chunk-v1";
  aad.push_back(static_cast<char>(item_id.size()));
  aad += item_id;
  aad.append(reinterpret_cast<const char*>(nonce) + 3, 9);

  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  std::string out(plaintext.size() + 16, '\0');
  auto* dst = reinterpret_cast<unsigned char*>(out.data());
  int len = 0;
  int tail = 0;
  const bool ok =
      EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr,
                         reinterpret_cast<const unsigned char*>(key.bytes().data()), nonce) == 1 &&
      EVP_EncryptUpdate(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(aad.data()),
                        static_cast<int>(aad.size())) == 1 &&
      EVP_EncryptUpdate(ctx, dst, &len, reinterpret_cast<const unsigned char*>(plaintext.data()),
                        static_cast<int>(plaintext.size())) == 1 &&
      EVP_EncryptFinal_ex(ctx, dst + len, &tail) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, dst + plaintext.size()) == 1;
  EVP_CIPHER_CTX_free(ctx);
  EXPECT_TRUE(ok);
  return out;
}

TEST(EvidenceStream, RecordsAreTheDocumentedFormat) {
  const std::string plaintext = Plaintext(2 * kMiB + 3);
  const Sealed sealed = Seal(plaintext, "ITEM-FORMAT");
  ASSERT_EQ(sealed.records.size(), 3u);
  for (uint64_t i = 0; i < 3; ++i) {
    const std::string text = plaintext.substr(i * kMiB, i == 2 ? 3 : kMiB);
    EXPECT_TRUE(sealed.records[i] == ReferenceSeal(sealed.key, "ITEM-FORMAT", i, i == 2, text))
        << "chunk " << i;
  }
}

// Streams only a key holder can make: the final flag where it does not belong.
TEST(EvidenceStream, RefusesAFinalFlagOnTheWrongChunk) {
  LIAISON_ASSERT_OK_AND_ASSIGN(DataKey key, DataKey::Generate());
  const std::string full = Plaintext(kMiB);
  const std::string sha = Sha256(full + full);
  // Final flag on chunk 0 of 2 (a stream that claims to end early).
  EXPECT_TRUE(IsError(Open(key, "ITEM-1", 2 * kMiB, sha,
                           {ReferenceSeal(key, "ITEM-1", 0, true, full),
                            ReferenceSeal(key, "ITEM-1", 1, true, full)}),
                      absl::StatusCode::kInvalidArgument,
                      "evidence item 'ITEM-1' chunk 0 does not authenticate"));
  // No final flag anywhere (a stream that never ends).
  EXPECT_TRUE(IsError(Open(key, "ITEM-1", 2 * kMiB, sha,
                           {ReferenceSeal(key, "ITEM-1", 0, false, full),
                            ReferenceSeal(key, "ITEM-1", 1, false, full)}),
                      absl::StatusCode::kInvalidArgument,
                      "evidence item 'ITEM-1' chunk 1 (the final chunk of 2) does not "
                      "authenticate"));
  // Both right: the reference stream opens.
  LIAISON_ASSERT_OK_AND_ASSIGN(std::string opened,
                               Open(key, "ITEM-1", 2 * kMiB, sha,
                                    {ReferenceSeal(key, "ITEM-1", 0, false, full),
                                     ReferenceSeal(key, "ITEM-1", 1, true, full)}));
  EXPECT_EQ(opened.size(), static_cast<size_t>(2 * kMiB));
}

// A download broken after two chunks goes on from chunk 2 with what was
// already verified and written (read back), instead of fetching it again.
TEST(EvidenceStream, ResumesADownloadFromTheVerifiedChunks) {
  const std::string plaintext = Plaintext(3 * kMiB + kMiB / 2);
  const Sealed sealed = Seal(plaintext);
  const std::string& sha = sealed.summary.plaintext_sha256;
  const int64_t size = static_cast<int64_t>(plaintext.size());
  const std::string written = plaintext.substr(0, 2 * kMiB);  // the partial file

  LIAISON_ASSERT_OK_AND_ASSIGN(EvidenceDecryptor resumed,
                               EvidenceDecryptor::Create(sealed.key, "ITEM-1", size, sha));
  LIAISON_ASSERT_OK(resumed.SkipVerifiedChunk(written.substr(0, kMiB)));
  LIAISON_ASSERT_OK(resumed.SkipVerifiedChunk(written.substr(kMiB, kMiB)));
  EXPECT_EQ(resumed.next_index(), 2);
  std::string rest;
  for (size_t i = 2; i < sealed.records.size(); ++i) {
    LIAISON_ASSERT_OK_AND_ASSIGN(std::string text, resumed.DecryptChunk(sealed.records[i]));
    rest += text;
  }
  LIAISON_ASSERT_OK(resumed.Finish());
  EXPECT_TRUE(written + rest == plaintext);

  // A partial file that changed since: the whole-item hash catches it.
  LIAISON_ASSERT_OK_AND_ASSIGN(EvidenceDecryptor changed,
                               EvidenceDecryptor::Create(sealed.key, "ITEM-1", size, sha));
  std::string bad = written.substr(0, kMiB);
  bad[7] ^= 0x01;
  LIAISON_ASSERT_OK(changed.SkipVerifiedChunk(bad));
  for (size_t i = 1; i < sealed.records.size(); ++i) {
    LIAISON_ASSERT_OK(changed.DecryptChunk(sealed.records[i]).status());
  }
  EXPECT_TRUE(IsError(changed.Finish(), absl::StatusCode::kInvalidArgument,
                      "evidence item 'ITEM-1': plaintext SHA-256 "));

  // A partial file of the wrong length is refused at once, naming the chunk.
  LIAISON_ASSERT_OK_AND_ASSIGN(EvidenceDecryptor truncated,
                               EvidenceDecryptor::Create(sealed.key, "ITEM-1", size, sha));
  LIAISON_ASSERT_OK(truncated.SkipVerifiedChunk(written.substr(0, kMiB)));
  EXPECT_TRUE(IsError(truncated.SkipVerifiedChunk("short"), absl::StatusCode::kInvalidArgument,
                      "evidence item 'ITEM-1' chunk 1: the resumed plaintext is 5 bytes, "
                      "expected 1048576"));
  EXPECT_TRUE(IsError(truncated.DecryptChunk(sealed.records[1]),
                      absl::StatusCode::kFailedPrecondition, "stopped at an earlier error"));
}

// ---------------------------------------------------------------- misuse

TEST(EvidenceStream, EncryptorRefusesChunksOfTheWrongSizeAndAfterTheFinalOne) {
  LIAISON_ASSERT_OK_AND_ASSIGN(EvidenceEncryptor enc, EvidenceEncryptor::Create("ITEM-9"));
  EXPECT_TRUE(IsError(enc.Summary(), absl::StatusCode::kFailedPrecondition,
                      "no summary before the final chunk is sealed (0 chunks so far)"));
  EXPECT_TRUE(IsError(enc.EncryptChunk("short", ChunkPosition::kMiddle),
                      absl::StatusCode::kInvalidArgument,
                      "evidence item 'ITEM-9' chunk 0: a chunk before the final one holds "
                      "1048576 bytes, not 5"));
  EXPECT_TRUE(IsError(enc.EncryptChunk(std::string(kMiB + 1, 'x'), ChunkPosition::kFinal),
                      absl::StatusCode::kInvalidArgument,
                      "evidence item 'ITEM-9' chunk 0: 1048577 bytes, at most 1048576"));
  // Refused chunks use no index.
  EXPECT_EQ(enc.next_index(), 0);
  LIAISON_ASSERT_OK(enc.EncryptChunk(std::string(kMiB, 'a'), ChunkPosition::kMiddle).status());
  LIAISON_ASSERT_OK(enc.EncryptChunk("end", ChunkPosition::kFinal).status());
  EXPECT_TRUE(IsError(enc.EncryptChunk("more", ChunkPosition::kFinal),
                      absl::StatusCode::kFailedPrecondition,
                      "evidence item 'ITEM-9' chunk 2: the final chunk is sealed already"));
  LIAISON_ASSERT_OK_AND_ASSIGN(EncryptedItemSummary summary, enc.Summary());
  EXPECT_EQ(summary.size, kMiB + 3);
  EXPECT_EQ(summary.chunks, 2);
}

TEST(EvidenceStream, RefusesBadParameters) {
  EXPECT_TRUE(IsError(EvidenceEncryptor::Create(""), absl::StatusCode::kInvalidArgument,
                      "evidence item id is empty"));
  EXPECT_TRUE(IsError(EvidenceEncryptor::Create(std::string(256, 'i')),
                      absl::StatusCode::kInvalidArgument,
                      "evidence item id is 256 bytes, at most 255"));
  LIAISON_ASSERT_OK_AND_ASSIGN(DataKey key, DataKey::Generate());
  EXPECT_TRUE(IsError(EvidenceDecryptor::Create(key, "ITEM-1", -1, Sha256("")),
                      absl::StatusCode::kInvalidArgument,
                      "evidence item 'ITEM-1': negative size -1"));
  EXPECT_TRUE(IsError(EvidenceDecryptor::Create(key, "ITEM-1", 0, "abc"),
                      absl::StatusCode::kInvalidArgument,
                      "the manifest's SHA-256 is 3 bytes, expected 32"));
  EXPECT_TRUE(IsError(DataKey::FromBytes(std::string(31, 'k')), absl::StatusCode::kInvalidArgument,
                      "data key is 31 bytes, expected 32"));
  EXPECT_EQ(EvidenceChunkCount(-5), 0);
}

TEST(EvidenceStream, Sha256StreamEqualsOneShotSha256) {
  const std::string data = Plaintext(3 * kMiB + 17);
  Sha256Stream stream;
  for (size_t at = 0; at < data.size(); at += 65537) {
    stream.Update(std::string_view(data).substr(at, 65537));
  }
  EXPECT_EQ(stream.Finish(), Sha256(data));
  // Finish starts over.
  EXPECT_EQ(stream.Finish(), Sha256(""));
}

}  // namespace
}  // namespace liaison::certs
