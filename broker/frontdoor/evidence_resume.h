// Resuming an evidence upload on a node that does not hold it in memory
// (another node after a failover, or this one after a restart;
// docs/evidence.md, "Resuming"): the chunks already in Kafka are read back
// and hashed again, so that the sender goes on after them instead of
// sending the whole item again.
//
// Every chunk record carries the declaration it was uploaded under
// (UploadDeclarationTag: uploader, JIT, item, ciphertext digest, count and
// size) beside its index, and every chunk of an item goes to one partition
// of the chunk topic (EvidenceServiceDeps::chunk_partition). The read-back
// takes, in offset order, the records of that partition with the item's key
// and the same declaration, written within the upload's maximum age: chunk
// 0, then 1, and so on; a record with another index (an earlier attempt
// that started again from 0, a chunk after a gap) is passed over. It holds
// one record at a time (the reader's read-ahead is at most 8 MiB).
#ifndef LIAISON_BROKER_FRONTDOOR_EVIDENCE_RESUME_H_
#define LIAISON_BROKER_FRONTDOOR_EVIDENCE_RESUME_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "certs/evidence_crypto.h"
#include "connectors/kafka/client_config.h"
#include "connectors/kafka/consumer.h"
#include "liaison/v1/evidence.pb.h"

namespace liaison::broker {

// The header of a chunk record naming its declaration, and the one naming
// its index.
inline constexpr char kChunkDeclarationHeader[] = "upload";
inline constexpr char kChunkIndexHeader[] = "chunk";
// Read-backs running on one node at a time; a resume beyond that is refused
// UNAVAILABLE (resume again, here or on another node).
inline constexpr int kMaxEvidenceReadBacks = 2;
// How long one read-back may take before the resume is refused UNAVAILABLE.
inline constexpr absl::Duration kEvidenceReadBackTimeout = absl::Seconds(60);

// Hex SHA-256 over the length-prefixed uploader, JIT, item id, ciphertext
// SHA-256, chunk count and ciphertext size: equal for two starts exactly
// when a resume on one node would accept the other (same uploader, same
// declaration).
std::string UploadDeclarationTag(const std::string& uploader,
                                 const liaison::v1::UploadStart& start);

// What a read-back found: chunks 0 .. chunks - 1, hashed in order.
struct ReadBackUpload {
  int32_t partition = -1;
  int64_t chunks = 0;
  int64_t bytes = 0;
  certs::Sha256Stream hasher;
  std::vector<int64_t> offsets;
  std::vector<std::array<char, certs::kEvidenceTagBytes>> tags;
  // The Kafka timestamp of chunk 0 (when chunks > 0): the upload began no
  // later.
  absl::Time first_chunk_at = absl::InfinitePast();
  // Records of the partition read, and those of this upload passed over.
  int64_t records_read = 0;
  int64_t passed_over = 0;
};

// The size rules of chunk `index` (0 .. chunk count - 1) of the upload
// `start` declares, `bytes_before` ciphertext bytes taken before it: every
// chunk but the last is 1 MiB + the 16-byte GCM tag; the last holds at least
// the tag and makes the declared ciphertext size. InvalidArgument naming the
// chunk otherwise. Checked when a chunk arrives and again when a read-back
// takes one from Kafka.
absl::Status CheckChunkSize(const liaison::v1::UploadStart& start, int64_t index, int64_t size,
                            int64_t bytes_before);

// Accepts `record` into `upload` when it is the next chunk of the upload
// tagged `tag` for `start` (key, declaration header, index header, size
// rules, written at or after `since`); returns whether it did. Pure.
bool TakeChunkRecord(const kafka::Record& record, const liaison::v1::UploadStart& start,
                     const std::string& tag, absl::Time since, ReadBackUpload& upload);

// Reads partition `partition` of `topic` from the first record written at
// or after `since` (ListOffsets by time; from the partition's start where
// the cluster cannot answer that) to its end, through TakeChunkRecord.
// Unavailable, naming the item, when Kafka does not answer within
// `timeout`.
absl::StatusOr<ReadBackUpload> ReadBackUploadFromKafka(const kafka::ClientConfig& config,
                                                       const std::string& topic, int32_t partition,
                                                       const liaison::v1::UploadStart& start,
                                                       const std::string& uploader,
                                                       absl::Time since, absl::Duration timeout);

}  // namespace liaison::broker

#endif  // LIAISON_BROKER_FRONTDOOR_EVIDENCE_RESUME_H_
