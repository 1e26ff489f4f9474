// evidence_crypto_bench: what end-to-end evidence encryption costs on this
// machine (README.md). Prints, all measured in the same run:
//  - raw AES-256-GCM on 1 MiB chunks (EVP directly): the ceiling;
//  - the same through certs::EvidenceEncryptor / EvidenceDecryptor;
//  - SHA-256 (certs::Sha256Stream);
//  - key wraps and unwraps per second (certs/key_wrap.h, the test PKI);
//  - one item of --item-gib GiB generated on the fly, encrypted and decrypted
//    chunk by chunk with the whole-item check: time and peak RSS above idle.
// Asserts nothing about speed; exits non-zero only if a result is wrong.
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "certs/certificate.h"
#include "certs/evidence_crypto.h"
#include "certs/key_wrap.h"
#include "certs/testing/test_pki.h"
#include "certs/trust_store.h"
#include "process_stats.h"

namespace liaison::bench {
namespace {

using certs::ChunkPosition;
using certs::kEvidenceChunkBytes;

constexpr double kMiB = 1024.0 * 1024.0;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "evidence_crypto_bench: %s\n", what.c_str());
  std::exit(1);
}

template <typename T>
T OrDie(absl::StatusOr<T> v, const char* what) {
  if (!v.ok()) Die(absl::StrFormat("%s: %s", what, v.status().ToString()));
  return *std::move(v);
}

double Seconds(int64_t ns) { return static_cast<double>(ns) / 1e9; }

// Runs `step` (which processes `bytes_per_step` bytes) for about `seconds`;
// returns MiB/s.
template <typename Step>
double MibPerSecond(double seconds, size_t bytes_per_step, Step step) {
  for (int i = 0; i < 3; ++i) step();  // warm up
  int64_t steps = 0;
  const int64_t start = NowNs();
  const int64_t until = start + static_cast<int64_t>(seconds * 1e9);
  int64_t now = start;
  while (now < until) {
    for (int i = 0; i < 8; ++i) step();
    steps += 8;
    now = NowNs();
  }
  return static_cast<double>(steps) * static_cast<double>(bytes_per_step) / kMiB /
         Seconds(now - start);
}

// ---------------------------------------------------------------- raw EVP

struct RawGcm {
  EVP_CIPHER_CTX* enc = EVP_CIPHER_CTX_new();
  EVP_CIPHER_CTX* dec = EVP_CIPHER_CTX_new();
  unsigned char key[32] = {};
  unsigned char nonce[12] = {};
  RawGcm() {
    RAND_bytes(key, sizeof key);
    EVP_EncryptInit_ex(enc, EVP_aes_256_gcm(), nullptr, key, nullptr);
    EVP_DecryptInit_ex(dec, EVP_aes_256_gcm(), nullptr, key, nullptr);
  }
  ~RawGcm() {
    EVP_CIPHER_CTX_free(enc);
    EVP_CIPHER_CTX_free(dec);
  }
  // Seals `in` into `out` (in.size() + 16 bytes).
  void Seal(const std::string& in, std::string& out, uint64_t counter) {
    std::memcpy(nonce + 4, &counter, 8);
    auto* dst = reinterpret_cast<unsigned char*>(out.data());
    int len = 0;
    int tail = 0;
    if (EVP_EncryptInit_ex(enc, nullptr, nullptr, nullptr, nonce) != 1 ||
        EVP_EncryptUpdate(enc, dst, &len, reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size())) != 1 ||
        EVP_EncryptFinal_ex(enc, dst + len, &tail) != 1 ||
        EVP_CIPHER_CTX_ctrl(enc, EVP_CTRL_GCM_GET_TAG, 16, dst + in.size()) != 1) {
      Die("raw AES-GCM seal failed");
    }
  }
  bool Open(const std::string& sealed, std::string& out, uint64_t counter) {
    std::memcpy(nonce + 4, &counter, 8);
    const size_t n = sealed.size() - 16;
    auto* dst = reinterpret_cast<unsigned char*>(out.data());
    unsigned char tag[16];
    std::memcpy(tag, sealed.data() + n, 16);
    int len = 0;
    int tail = 0;
    return EVP_DecryptInit_ex(dec, nullptr, nullptr, nullptr, nonce) == 1 &&
           EVP_DecryptUpdate(dec, dst, &len, reinterpret_cast<const unsigned char*>(sealed.data()),
                             static_cast<int>(n)) == 1 &&
           EVP_CIPHER_CTX_ctrl(dec, EVP_CTRL_GCM_SET_TAG, 16, tag) == 1 &&
           EVP_DecryptFinal_ex(dec, dst + len, &tail) == 1;
  }
};

// ---------------------------------------------------------------- the item

// Chunk `index` of a synthetic item: random bytes with the index written at
// the front, so that every chunk differs. Refills `chunk` in place.
void FillChunk(const std::string& pattern, uint64_t index, size_t size, std::string& chunk) {
  chunk.assign(pattern, 0, size);
  if (size >= 8) std::memcpy(chunk.data(), &index, 8);
}

struct ItemResult {
  double hash_seconds = 0;    // the sender's pre-pass: plaintext SHA-256
  double stream_seconds = 0;  // encrypt + decrypt + verify, chunk by chunk
  int64_t idle_rss_kb = 0;
  int64_t peak_rss_kb = 0;
  int64_t chunks = 0;
};

ItemResult StreamItem(int64_t size) {
  std::string pattern(kEvidenceChunkBytes, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(pattern.data()), static_cast<int>(pattern.size()));
  const int64_t chunks = certs::EvidenceChunkCount(size);
  auto chunk_size = [&](int64_t i) {
    return i + 1 < chunks ? kEvidenceChunkBytes
                          : static_cast<size_t>(size - (chunks - 1) * int64_t{kEvidenceChunkBytes});
  };
  ItemResult r;
  r.chunks = chunks;
  r.idle_rss_kb = StatusKb("VmRSS");
  if (!ResetPeakRss()) std::fprintf(stderr, "warning: cannot reset VmHWM; peak includes setup\n");

  // The manifest's SHA-256, as the sender's client computes it before upload.
  std::string chunk;
  int64_t start = NowNs();
  certs::Sha256Stream hash;
  for (int64_t i = 0; i < chunks; ++i) {
    FillChunk(pattern, static_cast<uint64_t>(i), chunk_size(i), chunk);
    hash.Update(chunk);
  }
  const std::string sha256 = hash.Finish();
  r.hash_seconds = Seconds(NowNs() - start);

  start = NowNs();
  auto enc = OrDie(certs::EvidenceEncryptor::Create("BENCH-ITEM"), "encryptor");
  auto dec =
      OrDie(certs::EvidenceDecryptor::Create(enc.key(), "BENCH-ITEM", size, sha256), "decryptor");
  for (int64_t i = 0; i < chunks; ++i) {
    FillChunk(pattern, static_cast<uint64_t>(i), chunk_size(i), chunk);
    const std::string record = OrDie(
        enc.EncryptChunk(chunk, i + 1 < chunks ? ChunkPosition::kMiddle : ChunkPosition::kFinal),
        "encrypt");
    const std::string plain = OrDie(dec.DecryptChunk(record), "decrypt");
    if (plain != chunk) Die(absl::StrFormat("chunk %d decrypted to other bytes", i));
  }
  if (absl::Status s = dec.Finish(); !s.ok()) Die(s.ToString());
  const certs::EncryptedItemSummary summary = OrDie(enc.Summary(), "summary");
  if (summary.plaintext_sha256 != sha256 || summary.size != size) Die("summary differs");
  r.stream_seconds = Seconds(NowNs() - start);
  r.peak_rss_kb = StatusKb("VmHWM");
  return r;
}

int Main(int argc, char** argv) {
  CLI::App app{"evidence_crypto_bench: evidence encryption costs (README.md)"};
  double seconds = 2.0;
  double item_gib = 2.0;
  int wraps = 2000;
  app.add_option("--seconds", seconds, "time per throughput figure")->check(CLI::Range(0.1, 60.0));
  app.add_option("--item-gib", item_gib, "size of the streamed item, GiB")
      ->check(CLI::Range(0.0, 64.0));
  app.add_option("--wraps", wraps, "wraps and unwraps to time")->check(CLI::Range(10, 1000000));
  CLI11_PARSE(app, argc, argv);

  std::printf("load average at start: %s\n", LoadAverage().c_str());
  // The large item first, while the process is small: idle RSS is the
  // program before any benchmark buffer.
  const auto size = static_cast<int64_t>(item_gib * 1024 * kMiB);
  std::printf("\nstreaming one %.2f GiB item (generated on the fly) ...\n", item_gib);
  std::fflush(stdout);
  const ItemResult r = StreamItem(size);
  const double mib = static_cast<double>(size) / kMiB;
  std::printf("  plaintext SHA-256 pre-pass         %6.1f s  %8.0f MiB/s\n", r.hash_seconds,
              mib / r.hash_seconds);
  std::printf("  encrypt + decrypt + verify         %6.1f s  %8.0f MiB/s  (%lld chunks)\n",
              r.stream_seconds, mib / r.stream_seconds, static_cast<long long>(r.chunks));
  std::printf("  RSS idle %lld KiB, peak %lld KiB: peak above idle %.1f MiB\n",
              static_cast<long long>(r.idle_rss_kb), static_cast<long long>(r.peak_rss_kb),
              static_cast<double>(r.peak_rss_kb - r.idle_rss_kb) / 1024.0);

  const size_t chunk = kEvidenceChunkBytes;
  std::string plain(chunk, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(plain.data()), static_cast<int>(plain.size()));

  // Raw ceilings.
  RawGcm raw;
  std::string sealed(chunk + 16, '\0');
  std::string opened(chunk, '\0');
  uint64_t counter = 0;
  const double raw_seal = MibPerSecond(seconds, chunk, [&] { raw.Seal(plain, sealed, ++counter); });
  raw.Seal(plain, sealed, 7);
  const double raw_open = MibPerSecond(seconds, chunk, [&] {
    if (!raw.Open(sealed, opened, 7)) Die("raw AES-GCM open failed");
  });

  // Through the certs API: one item of many middle chunks.
  auto enc = OrDie(certs::EvidenceEncryptor::Create("BENCH-API"), "encryptor");
  std::vector<std::string> records;
  const double api_seal = MibPerSecond(seconds, chunk, [&] {
    std::string record = OrDie(enc.EncryptChunk(plain, ChunkPosition::kMiddle), "encrypt");
    if (records.size() < 64) records.push_back(std::move(record));
  });
  // The decryptor opens records in order; an item of `records.size()` full
  // chunks is opened again and again (a fresh decryptor per pass).
  const int64_t item_size = static_cast<int64_t>(records.size() * chunk);
  size_t next = 0;
  absl::StatusOr<certs::EvidenceDecryptor> dec;
  const double api_open = MibPerSecond(seconds, chunk, [&] {
    if (next == 0) {
      // The whole-item hash is not checked here (Finish is not called).
      dec = certs::EvidenceDecryptor::Create(enc.key(), "BENCH-API", item_size,
                                             std::string(32, '\0'));
      if (!dec.ok()) Die(dec.status().ToString());
    }
    // Records sealed as middle chunks; the last one would be opened as the
    // final chunk, so each pass stops one short.
    (void)OrDie(dec->DecryptChunk(records[next]), "decrypt");
    next = (next + 1) % (records.size() - 1);
  });

  certs::Sha256Stream sha;
  const double sha_rate = MibPerSecond(seconds, chunk, [&] { sha.Update(plain); });
  (void)sha.Finish();

  std::printf("\n1 MiB chunks, one thread               MiB/s\n");
  std::printf("  raw AES-256-GCM seal (EVP)         %8.0f\n", raw_seal);
  std::printf("  raw AES-256-GCM open (EVP)         %8.0f\n", raw_open);
  std::printf("  EvidenceEncryptor::EncryptChunk    %8.0f   (%.0f%% of raw)\n", api_seal,
              100.0 * api_seal / raw_seal);
  std::printf("  EvidenceDecryptor::DecryptChunk    %8.0f   (%.0f%% of raw; includes SHA-256)\n",
              api_open, 100.0 * api_open / raw_open);
  std::printf("  SHA-256 (Sha256Stream)             %8.0f\n", sha_rate);

  // Key wrap and unwrap with the test PKI's encryption certificates.
  const auto& pki = testing::SharedTestPki();
  auto trust = OrDie(certs::TrustStore::Load(pki.ca(), pki.crl()), "trust store");
  const certs::Certificate cert =
      OrDie(certs::Certificate::FromPemFile(pki.EndpointFile("NL-NP", "enc.pem")), "cert");
  const certs::RecipientKey recipient =
      OrDie(certs::RecipientKey::FromPemFiles(pki.EndpointFile("NL-NP", "enc.key"),
                                              pki.EndpointFile("NL-NP", "enc.pem")),
            "recipient key");
  const certs::DataKey key = enc.key();
  std::vector<std::string> wrapped;
  wrapped.reserve(static_cast<size_t>(wraps));
  int64_t start = NowNs();
  for (int i = 0; i < wraps; ++i) {
    wrapped.push_back(
        OrDie(certs::WrapDataKey(key, "BENCH-API", "NL-NP", cert, *trust, pki.now), "wrap"));
  }
  const double wrap_rate = wraps / Seconds(NowNs() - start);
  start = NowNs();
  for (const std::string& w : wrapped) {
    if (OrDie(recipient.Unwrap(w, "BENCH-API"), "unwrap").bytes() != key.bytes()) {
      Die("unwrapped another key");
    }
  }
  const double unwrap_rate = wraps / Seconds(NowNs() - start);
  std::printf("\nkey wrap (ECDH P-256 + HKDF + AES-GCM)   per second\n");
  std::printf("  WrapDataKey (with certificate validation)  %8.0f\n", wrap_rate);
  std::printf("  RecipientKey::Unwrap                       %8.0f\n", unwrap_rate);

  std::printf("\nload average at end: %s\n", LoadAverage().c_str());
  return 0;
}

}  // namespace
}  // namespace liaison::bench

int main(int argc, char** argv) { return liaison::bench::Main(argc, argv); }
