// Writes small bookkeeping entries of one topic in groups (group commit):
// an entry added while no record of this batcher is being written goes out
// at once, alone; entries added while one is in flight wait for it and then
// go out together, as one record. So a lone entry at a low rate waits for
// nothing, and under load one record carries whatever arrived during the
// previous write's round trip, up to `max_entries`.
//
// A record's value is the entries as one repeated length-delimited field
// (`field_number`) of a message, e.g. AcceptedIdBatch.ids: the entries'
// bytes are copied once, never parsed or serialised again. Its key is the
// first entry's key.
//
// Used where the entries' order across records and their compaction keys do
// not matter: accepted ids and delivery-index entries (the topics are
// deleted by age; their keys were unique per entry anyway).
#ifndef LIAISON_BROKER_CORE_RECORD_BATCHER_H_
#define LIAISON_BROKER_CORE_RECORD_BATCHER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "connectors/kafka/producer.h"

namespace liaison::broker {

class RecordBatcher {
 public:
  struct Options {
    std::string topic;
    int field_number = 1;
    size_t max_entries = 1000;
    // A record is closed once its entries reach this many bytes.
    size_t max_bytes = 256 * 1024;
  };
  // `producer` is not owned and must outlive every callback of this batcher.
  // The batcher may be destroyed once every `done` it was given has been
  // called.
  RecordBatcher(kafka::Producer* producer, Options options);

  // Queues `entries` (serialised messages; all go into the same record);
  // `done` gets the write's outcome, on a producer callback thread (or the
  // caller's). Thread-safe.
  void Add(std::string key, std::vector<std::string> entries,
           std::function<void(absl::Status)> done) ABSL_LOCKS_EXCLUDED(mu_);
  void Add(std::string key, std::string entry, std::function<void(absl::Status)> done) {
    std::vector<std::string> entries;
    entries.push_back(std::move(entry));
    Add(std::move(key), std::move(entries), std::move(done));
  }

  // Records written and entries carried so far (the benchmark, tests).
  int64_t records() const { return records_.load(); }
  int64_t entries() const { return entries_.load(); }

  // The record value `entries` make under `field_number` (also for tests).
  static std::string Encode(int field_number, const std::vector<std::string>& entries);

 private:
  struct Pending {
    std::string key;
    std::vector<std::string> entries;
    size_t bytes = 0;
    std::function<void(absl::Status)> done;
  };
  // Writes `batch` as one record; on its report, the next queued group.
  void Write(std::vector<Pending> batch);
  // The next group to write (empty: nothing queued; then nothing is in flight).
  std::vector<Pending> TakeLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  kafka::Producer* const producer_;
  const Options options_;
  absl::Mutex mu_;
  std::vector<Pending> queued_ ABSL_GUARDED_BY(mu_);
  bool in_flight_ ABSL_GUARDED_BY(mu_) = false;
  std::atomic<int64_t> records_{0};
  std::atomic<int64_t> entries_{0};
};

}  // namespace liaison::broker

#endif  // LIAISON_BROKER_CORE_RECORD_BATCHER_H_
