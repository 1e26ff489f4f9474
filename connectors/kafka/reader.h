// Reading a known range of one partition without a consumer group: the last
// entry of an audit chain, an index scan. For following a topic, use
// Consumer (reader mode); for work, use a group.
#ifndef LIAISON_CONNECTORS_KAFKA_READER_H_
#define LIAISON_CONNECTORS_KAFKA_READER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "connectors/kafka/client_config.h"
#include "connectors/kafka/consumer.h"

namespace liaison::kafka {

inline constexpr int64_t kToEnd = -1;

// Records of `topic`/`partition` with from <= offset < to, where `to` =
// kToEnd means the high watermark when the call starts and a negative `from`
// counts back from it (-16: the last 16 offsets). Offsets below the
// partition's low watermark no longer exist and are skipped (the result
// starts later: callers compare offsets). DeadlineExceeded if the range
// cannot be read within `timeout`; NotFound for a missing partition.
absl::StatusOr<std::vector<Record>> ReadPartition(const ClientConfig& config,
                                                  const std::string& topic, int32_t partition,
                                                  int64_t from, int64_t to, absl::Duration timeout);

// Visits the records of `topic`/`partition` newest first, each once,
// reading back from the partition's end (its high watermark when the call
// starts) in windows that grow 16-fold, until `visit` returns false or the
// partition's start is reached. For "the last record of a kind": on a
// transactional partition the last offsets are often commit markers and
// aborted records, which have offsets but no visible record, so how many
// records a window returned says nothing about whether older ones exist;
// only reaching the start does. DeadlineExceeded if not done within
// `timeout`.
absl::Status ScanBackward(const ClientConfig& config, const std::string& topic, int32_t partition,
                          absl::Duration timeout, const std::function<bool(const Record&)>& visit);

// The last record of the partition; nullopt when it holds none.
absl::StatusOr<std::optional<Record>> ReadLast(const ClientConfig& config, const std::string& topic,
                                               int32_t partition, absl::Duration timeout);

// Single records by position, on one client kept open (no consumer group):
// for state whose content stays in Kafka and only an index lives in memory
// (the hold book). A partition once read stays started until StopAll, its
// fetcher reading ahead into a queue of at most 8 MiB (then waiting, or
// long-polling at the log's end): the next read continues there or seeks.
// Not thread-safe: one caller at a time.
class RecordReader {
 public:
  static absl::StatusOr<std::unique_ptr<RecordReader>> Create(const ClientConfig& config);
  ~RecordReader();

  // The record at `offset` of `topic`/`partition`. NotFound when the offset
  // no longer exists (retention or compaction removed it, or it was never
  // written); DeadlineExceeded when Kafka does not answer within `timeout`.
  absl::StatusOr<Record> Read(const std::string& topic, int32_t partition, int64_t offset,
                              absl::Duration timeout);

  // The records at `offsets` (any order, duplicates ignored) of one
  // partition, in one forward pass from the lowest: `each` runs once per
  // offset, in ascending order, with the record or the error for that offset
  // (NotFound as in Read; DeadlineExceeded for what `timeout` left unread).
  // The records between the wanted ones are read and dropped: for offsets
  // close together (a release burst), not for a needle in a long partition.
  // Stops every started partition, dropping what was read ahead (when
  // reads are done for a while: nothing is kept in memory or fetched).
  void StopAll();
  bool Started() const;

  void ReadEach(const std::string& topic, int32_t partition, std::vector<int64_t> offsets,
                absl::Duration timeout,
                const std::function<void(int64_t offset, absl::StatusOr<Record>)>& each);

 private:
  struct Impl;
  explicit RecordReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace liaison::kafka

#endif  // LIAISON_CONNECTORS_KAFKA_READER_H_
