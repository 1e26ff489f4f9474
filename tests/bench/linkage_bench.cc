// Case linkage at scale (issue: 10 million entries, <= 64 bytes each, a
// 20-identifier query in p99 < 2 ms, publishing >= 200,000 identifiers/s,
// rebuild >= 1 million entries/s). Prints, for this machine and run:
//  - the raw costs: one HMAC-SHA256 of a blinding input, one normalisation
//    per identifier kind (connectors/endpoint/linkage);
//  - the endpoint's publish side: normalise + blind per identifier, one thread;
//  - the broker's index (broker/state/linkage_index.h): insert rate, bytes
//    per entry (counted from the arrays' capacities, and as RSS growth),
//    peak RSS, lookup latency of 20-value queries, the rebuild rate from the
//    compacted topic's record format (decode + apply), purge and compaction.
// Values in the index are pseudo-random 32-byte strings (what HMAC outputs
// look like), so the index phase measures the index alone.
#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "broker/state/linkage_index.h"
#include "certs/signature.h"
#include "connectors/endpoint/linkage/blind.h"
#include "connectors/endpoint/linkage/normalize.h"
#include "tests/bench/process_stats.h"

namespace liaison::bench {
namespace {

using endpoint::linkage::Canonical;
using endpoint::linkage::LinkageKey;
using endpoint::linkage::Normalizer;

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

uint64_t SplitMix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// The value of synthetic identifier `i`: 32 pseudo-random bytes.
std::string Value(uint64_t i) {
  std::string v(32, '\0');
  for (int w = 0; w < 4; ++w) {
    const uint64_t x = SplitMix(i * 4 + w + 1);
    std::memcpy(v.data() + 8 * w, &x, 8);
  }
  return v;
}

struct Shape {
  int64_t entries = 10'000'000;
  int64_t per_case = 5;  // identifiers per case handle
  int owners = 10;
  double shared = 0.02;  // share of entries whose value another owner also holds
};

const char* kOwners[] = {"DE-BKA", "NL-NP", "RO-IGPR", "BG-GDNP", "FR-OCRTEH",
                         "ES-PN",  "LV-VP", "SE-NOA",  "GB-NCA",  "MD-IGP"};

// Entry `n` of the synthetic index: owner, handle, value number, kind, expiry.
struct Synthetic {
  std::string owner, handle;
  uint64_t value;
  uint8_t kind;
  absl::Time expiry;
};
Synthetic Entry(const Shape& s, int64_t n) {
  const int64_t distinct = static_cast<int64_t>(s.entries * (1 - s.shared));
  const int64_t c = n / s.per_case;  // case number
  const int owner = static_cast<int>(c % s.owners);
  // The last `shared` share repeats earlier values under other owners.
  const uint64_t value = n < distinct ? n : SplitMix(n) % distinct;
  static constexpr uint8_t kKinds[] = {1, 2, 3, 4, 5, 6, 8};
  return Synthetic{kOwners[owner % 10], absl::StrCat("LNK-", kOwners[owner % 10], "-", c), value,
                   kKinds[n % 7], kNow + absl::Hours(24 + n % (24 * 300))};
}

void RawCosts(double seconds) {
  std::printf("\n== raw costs (one thread)\n");
  auto n = Normalizer::Create({.default_region = "LV", .name_language = "lv"});
  auto key = LinkageKey::FromBytes(1, std::string(32, '\x5a'));
  if (!n.ok() || !key.ok()) {
    std::printf("cannot set up: %s %s\n", n.status().ToString().c_str(),
                key.status().ToString().c_str());
    return;
  }
  const std::string input = "liaison-linkage/v1\nPHONE\n+37120123456";
  const std::string k(32, '\x5a');
  int64_t ops = 0;
  const int64_t start = ThreadCpuNs();
  while (ThreadCpuNs() - start < seconds * 1e9) {
    for (int i = 0; i < 1000; ++i) {
      const std::string mac = certs::HmacSha256(k, input);
      if (mac.size() != 32) std::abort();
    }
    ops += 1000;
  }
  std::printf("HMAC-SHA256 of a blinding input (certs::HmacSha256)  %8.2f us\n",
              (ThreadCpuNs() - start) / 1e3 / ops);

  struct Kind {
    const char* name;
    std::function<absl::StatusOr<Canonical>(int)> fn;
  };
  const Normalizer& norm = **n;
  const Kind kinds[] = {
      {"phone (libphonenumber)",
       [&](int i) { return norm.Phone(absl::StrCat("+371 2", 1000000 + i % 8999999)); }},
      {"IBAN (mod 97)", [&](int) { return norm.Iban("LV80 BANK 0000 4351 9500 1"); }},
      {"VIN", [&](int) { return norm.Vin("1M8GDM9AXKP042788"); }},
      {"plate + country", [&](int) { return norm.VehiclePlate("СВ 1234 ВН", "BG"); }},
      {"travel document", [&](int) { return norm.TravelDocument("lv", "P", "LV1234567"); }},
      {"e-mail (IDNA)", [&](int) { return norm.Email("Janis.Berzins@Bücher.example"); }},
      {"name + DOB (ICU, Latin)", [&](int) { return norm.NameDob("Ģirts Bērziņš", "1990-02-28"); }},
      {"name + DOB (ICU, Cyrillic bg)",
       [&](int) { return norm.NameDob("Христо Стоичков", "1990-02-28", "bg"); }},
  };
  for (const Kind& kind : kinds) {
    int64_t count = 0;
    const int64_t t0 = ThreadCpuNs();
    while (ThreadCpuNs() - t0 < seconds * 1e9) {
      for (int i = 0; i < 200; ++i) {
        if (!kind.fn(i).ok()) {
          std::printf("%s refused its sample\n", kind.name);
          return;
        }
      }
      count += 200;
    }
    std::printf("normalise %-30s  %8.2f us\n", kind.name, (ThreadCpuNs() - t0) / 1e3 / count);
  }

  // The endpoint's publish path: normalise + blind, a mix of all kinds.
  int64_t published = 0;
  const int64_t t0 = NowNs();
  while (NowNs() - t0 < seconds * 2e9) {
    for (int i = 0; i < 700; ++i) {
      auto c = kinds[i % 8].fn(i);
      const auto blinded = endpoint::linkage::Blind(*key, *c);
      if (blinded.epoch != 1) std::abort();
    }
    published += 700;
  }
  const double per_s = published / ((NowNs() - t0) / 1e9);
  std::printf(
      "endpoint publish: normalise + blind, all kinds mixed  %10.0f identifiers/s (one thread)\n",
      per_s);

  // The same on every core, one Normalizer per thread (it is not thread-safe).
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  std::atomic<int64_t> total{0};
  std::vector<std::thread> threads;
  const int64_t t1 = NowNs();
  for (unsigned c = 0; c < cores; ++c) {
    threads.emplace_back([&, c] {
      auto own = Normalizer::Create({.default_region = "LV", .name_language = "lv"});
      if (!own.ok()) std::abort();
      const Normalizer& nn = **own;
      int64_t done = 0;
      const int64_t start_ns = NowNs();
      while (NowNs() - start_ns < seconds * 2e9) {
        for (int i = 0; i < 700; ++i) {
          absl::StatusOr<Canonical> can;
          switch (i % 8) {
            case 0:
              can = nn.Phone(absl::StrCat("+371 2", 1000000 + (i + c) % 8999999));
              break;
            case 1:
              can = nn.Iban("LV80 BANK 0000 4351 9500 1");
              break;
            case 2:
              can = nn.Vin("1M8GDM9AXKP042788");
              break;
            case 3:
              can = nn.VehiclePlate("СВ 1234 ВН", "BG");
              break;
            case 4:
              can = nn.TravelDocument("lv", "P", "LV1234567");
              break;
            case 5:
              can = nn.Email("Janis.Berzins@Bücher.example");
              break;
            case 6:
              can = nn.NameDob("Ģirts Bērziņš", "1990-02-28");
              break;
            default:
              can = nn.NameDob("Христо Стоичков", "1990-02-28", "bg");
              break;
          }
          if (!can.ok() || endpoint::linkage::Blind(*key, *can).epoch != 1) std::abort();
        }
        done += 700;
      }
      total += done;
    });
  }
  for (std::thread& t : threads) t.join();
  std::printf("endpoint publish: the same on %u threads               %10.0f identifiers/s\n",
              cores, total / ((NowNs() - t1) / 1e9));
}

void Index(const Shape& shape, int64_t queries) {
  std::printf("\n== index: %lld entries, %lld per case, %d owners, %.0f%% shared values\n",
              static_cast<long long>(shape.entries), static_cast<long long>(shape.per_case),
              shape.owners, shape.shared * 100);
  ResetPeakRss();
  const int64_t rss0 = StatusKb("VmRSS");
  int64_t build_ns = 0;
  {
    broker::LinkageIndex index;
    const int64_t t0 = NowNs();
    for (int64_t n = 0; n < shape.entries; ++n) {
      const Synthetic e = Entry(shape, n);
      const absl::Status s =
          index.Upsert(1, Value(e.value), e.owner, e.handle, e.kind, e.expiry, kNow);
      if (!s.ok()) {
        std::printf("insert %lld: %s\n", static_cast<long long>(n), s.ToString().c_str());
        return;
      }
    }
    build_ns = NowNs() - t0;
    const int64_t rss1 = StatusKb("VmRSS");
    const int64_t hwm = StatusKb("VmHWM");
    const double entries = static_cast<double>(index.LiveEntries());
    std::printf("insert (index only, one thread)      %10.0f entries/s  (%.1f s)\n",
                entries / (build_ns / 1e9), build_ns / 1e9);
    std::printf("memory, counted from the arrays     %10.1f bytes/entry  (%.0f MiB)\n",
                index.MemoryBytes() / entries, index.MemoryBytes() / 1048576.0);
    std::printf("memory, RSS growth                  %10.1f bytes/entry  (%.0f MiB)\n",
                (rss1 - rss0) * 1024.0 / entries, (rss1 - rss0) / 1024.0);
    std::printf("peak RSS of the process             %10.0f MiB\n", hwm / 1024.0);

    // 20-value queries: ~half hits, the querier may query every owner.
    absl::flat_hash_set<std::string> allowed;
    for (int o = 0; o < shape.owners; ++o) allowed.insert(kOwners[o]);
    std::vector<int64_t> ns;
    ns.reserve(queries);
    int64_t hits = 0;
    for (int64_t q = 0; q < queries; ++q) {
      std::vector<std::string> values;
      for (int i = 0; i < 20; ++i) {
        const uint64_t r = SplitMix(q * 20 + i + 77);
        values.push_back(Value(i % 2 == 0 ? r % shape.entries : shape.entries * 4 + r % 1000000));
      }
      const int64_t t = NowNs();
      auto result = index.Lookup(1, values, allowed, kNow + absl::Hours(1));
      ns.push_back(NowNs() - t);
      if (!result.ok()) std::abort();
      hits += static_cast<int64_t>(result->size());
    }
    std::printf("lookup of 20 values (inside the index) %s, %.1f hits/query\n",
                Format(Summarise(ns)).c_str(), static_cast<double>(hits) / queries);

    // Incremental purge at a time when a third of the entries has expired.
    const absl::Time later = kNow + absl::Hours(24 + 24 * 100);
    const int64_t t1 = NowNs();
    int64_t purged = 0, calls = 0;
    int64_t worst = 0;
    while (true) {
      const int64_t c0 = NowNs();
      const int64_t p = index.PurgeExpired(later, 100'000);
      worst = std::max(worst, NowNs() - c0);
      purged += p;
      ++calls;
      if (calls * 100'000 > shape.entries * 1.05) break;
    }
    std::printf(
        "purge of expired entries           %10lld purged in %.2f s, %lld calls of 100,000 "
        "values, longest call %.1f ms\n",
        static_cast<long long>(purged), (NowNs() - t1) / 1e9, static_cast<long long>(calls),
        worst / 1e6);
    const int64_t t2 = NowNs();
    index.Compact();
    std::printf(
        "compact (drops the dead)           %10.2f s, then %.1f bytes/live entry, peak RSS %.0f "
        "MiB\n",
        (NowNs() - t2) / 1e9, index.MemoryBytes() / static_cast<double>(index.LiveEntries()),
        StatusKb("VmHWM") / 1024.0);
  }

  // Rebuild from the compacted topic: records in batches (as a consumer
  // receives them), decoded and applied to a fresh index. Encoding is not
  // timed.
  ResetPeakRss();
  broker::LinkageIndex rebuilt;
  constexpr int64_t kBatch = 100'000;
  std::vector<std::pair<std::string, std::string>> batch;
  int64_t apply_ns = 0, records = 0;
  for (int64_t start = 0; start < shape.entries; start += kBatch) {
    batch.clear();
    for (int64_t n = start; n < std::min(shape.entries, start + kBatch); ++n) {
      const Synthetic e = Entry(shape, n);
      batch.emplace_back(broker::EncodeRecordKey(1, Value(e.value), e.owner, e.handle),
                         broker::EncodeRecordValue(e.kind, e.expiry));
    }
    const int64_t t = NowNs();
    for (const auto& [k, v] : batch) {
      auto r = broker::DecodeRecord(k, absl::string_view(v));
      if (!r.ok() || !rebuilt.ApplyRecord(*r, kNow).ok()) std::abort();
    }
    apply_ns += NowNs() - t;
    records += static_cast<int64_t>(batch.size());
  }
  std::printf(
      "rebuild from records (decode + apply) %9.0f entries/s  (%.1f s for %lld records, "
      "%zu-byte keys + 10-byte values)\n",
      records / (apply_ns / 1e9), apply_ns / 1e9, static_cast<long long>(records),
      broker::EncodeRecordKey(1, Value(0), "RO-IGPR", "LNK-RO-IGPR-123456").size());
  std::printf("peak RSS during rebuild            %10.0f MiB\n", StatusKb("VmHWM") / 1024.0);
}

}  // namespace
}  // namespace liaison::bench

int main(int argc, char** argv) {
  CLI::App app("Case linkage: normalisation and blinding costs, and the broker's index at scale");
  liaison::bench::Shape shape;
  int64_t queries = 20'000;
  double seconds = 0.5;
  bool skip_raw = false;
  app.add_option("--entries", shape.entries, "entries in the index")->capture_default_str();
  app.add_option("--per-case", shape.per_case, "identifiers per case handle")
      ->capture_default_str();
  app.add_option("--shared", shape.shared, "share of entries repeating another owner's value")
      ->capture_default_str();
  app.add_option("--queries", queries, "20-value queries timed")->capture_default_str();
  app.add_option("--seconds", seconds, "time per raw cost")->capture_default_str();
  app.add_flag("--skip-raw", skip_raw, "only the index");
  CLI11_PARSE(app, argc, argv);
  std::printf("linkage_bench: load average %s\n", liaison::bench::LoadAverage().c_str());
  if (!skip_raw) liaison::bench::RawCosts(seconds);
  liaison::bench::Index(shape, queries);
  std::printf("\nload average %s\n", liaison::bench::LoadAverage().c_str());
  return 0;
}
