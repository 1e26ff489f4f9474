#include "broker/frontdoor/evidence_resume.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "certs/signature.h"
#include "connectors/kafka/admin.h"
#include "connectors/kafka/reader.h"

namespace liaison::broker {
namespace {

void AppendField(std::string& out, absl::string_view field) {
  absl::StrAppend(&out, field.size(), ":", field, ";");
}

const std::string* HeaderValue(const kafka::Record& record, absl::string_view key) {
  for (const kafka::Header& h : record.headers) {
    if (h.key == key) return &h.value;
  }
  return nullptr;
}

}  // namespace

std::string UploadDeclarationTag(const std::string& uploader,
                                 const liaison::v1::UploadStart& start) {
  std::string fields;
  AppendField(fields, uploader);
  AppendField(fields, start.jit_id());
  AppendField(fields, start.item_id());
  AppendField(fields, start.ciphertext_sha256());
  AppendField(fields, absl::StrCat(start.chunk_count()));
  AppendField(fields, absl::StrCat(start.ciphertext_size()));
  return absl::BytesToHexString(certs::Sha256(fields));
}

absl::Status CheckChunkSize(const liaison::v1::UploadStart& start, int64_t index, int64_t size,
                            int64_t bytes_before) {
  const int64_t max_record = static_cast<int64_t>(certs::kEvidenceMaxRecordBytes);
  const int64_t tag_bytes = static_cast<int64_t>(certs::kEvidenceTagBytes);
  if (index != start.chunk_count() - 1) {
    if (size == max_record) return absl::OkStatus();
    return absl::InvalidArgumentError(
        absl::StrCat("evidence item '", start.item_id(), "' chunk ", index, ": ", size,
                     " bytes, every chunk but the last is ", max_record));
  }
  if (size >= tag_bytes && bytes_before + size == start.ciphertext_size()) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "evidence item '", start.item_id(), "' chunk ", index, ": ", size, " bytes make the item ",
      bytes_before + size, " ciphertext bytes, the manifest declares ", start.ciphertext_size()));
}

bool TakeChunkRecord(const kafka::Record& record, const liaison::v1::UploadStart& start,
                     const std::string& tag, absl::Time since, ReadBackUpload& upload) {
  if (record.tombstone || record.key != start.item_id() || record.timestamp < since) return false;
  const std::string* declaration = HeaderValue(record, kChunkDeclarationHeader);
  if (declaration == nullptr || *declaration != tag) return false;
  const std::string* index_text = HeaderValue(record, kChunkIndexHeader);
  int64_t index = -1;
  if (index_text == nullptr || !absl::SimpleAtoi(*index_text, &index) || index != upload.chunks ||
      index >= start.chunk_count()) {
    ++upload.passed_over;
    return false;
  }
  const int64_t tag_bytes = static_cast<int64_t>(certs::kEvidenceTagBytes);
  const int64_t size = static_cast<int64_t>(record.value.size());
  // The rules the node checked when it took the chunk; a record that breaks
  // them was not written by a node for this declaration.
  if (!CheckChunkSize(start, index, size, upload.bytes).ok()) {
    ++upload.passed_over;
    return false;
  }
  upload.hasher.Update(record.value);
  std::array<char, certs::kEvidenceTagBytes> gcm_tag{};
  std::memcpy(gcm_tag.data(), record.value.data() + size - tag_bytes, tag_bytes);
  upload.tags.push_back(gcm_tag);
  upload.offsets.push_back(record.offset);
  upload.bytes += size;
  if (upload.chunks == 0) upload.first_chunk_at = record.timestamp;
  ++upload.chunks;
  return true;
}

absl::StatusOr<ReadBackUpload> ReadBackUploadFromKafka(const kafka::ClientConfig& config,
                                                       const std::string& topic, int32_t partition,
                                                       const liaison::v1::UploadStart& start,
                                                       const std::string& uploader,
                                                       absl::Time since, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  const std::string what =
      absl::StrCat("evidence item '", start.item_id(), "': reading its chunks back from Kafka");
  auto unavailable = [&](const absl::Status& s) {
    return absl::UnavailableError(absl::StrCat(what, " (", topic, " partition ", partition,
                                               "): ", s.message(), "; resume again"));
  };
  absl::StatusOr<std::unique_ptr<kafka::RecordDeleter>> marks_client =
      kafka::RecordDeleter::Create(config);
  if (!marks_client.ok()) return unavailable(marks_client.status());
  const kafka::TopicPartition tp{topic, partition};
  absl::StatusOr<std::pair<int64_t, int64_t>> marks = (*marks_client)->Watermarks(tp, timeout);
  if (!marks.ok()) return unavailable(marks.status());
  int64_t from = marks->first;
  // From the first record within the upload's age; a cluster that cannot
  // look offsets up by time is read from its start (the timestamps are
  // checked record by record anyway).
  if (absl::StatusOr<int64_t> at = (*marks_client)->OffsetAtTime(tp, since, timeout);
      at.ok() && *at >= marks->first && *at < marks->second) {
    from = *at;
  }
  ReadBackUpload upload;
  upload.partition = partition;
  if (from >= marks->second) return upload;
  std::vector<int64_t> offsets;
  offsets.reserve(static_cast<size_t>(marks->second - from));
  for (int64_t o = from; o < marks->second; ++o) offsets.push_back(o);
  absl::StatusOr<std::unique_ptr<kafka::RecordReader>> reader = kafka::RecordReader::Create(config);
  if (!reader.ok()) return unavailable(reader.status());
  const std::string tag = UploadDeclarationTag(uploader, start);
  absl::Status failure;
  (*reader)->ReadEach(topic, partition, std::move(offsets),
                      std::max(absl::ZeroDuration(), deadline - absl::Now()),
                      [&](int64_t, absl::StatusOr<kafka::Record> record) {
                        if (!record.ok()) {
                          // Gone (retention, a transaction's marker): nothing
                          // to take. Not read in time: the read-back fails.
                          if (!absl::IsNotFound(record.status()) && failure.ok()) {
                            failure = record.status();
                          }
                          return;
                        }
                        ++upload.records_read;
                        TakeChunkRecord(*record, start, tag, since, upload);
                      });
  (*reader)->StopAll();
  if (!failure.ok()) return unavailable(failure);
  return upload;
}

}  // namespace liaison::broker
