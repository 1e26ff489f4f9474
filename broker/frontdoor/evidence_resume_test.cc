// TakeChunkRecord: which records of the chunk partition a read-back takes
// (evidence_resume.h). Kafka itself: tests/integration/evidence_test.cc.
#include "broker/frontdoor/evidence_resume.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "certs/evidence_crypto.h"
#include "gtest/gtest.h"

namespace liaison::broker {
namespace {

constexpr int64_t kRecord = static_cast<int64_t>(certs::kEvidenceMaxRecordBytes);

class TakeChunkRecordTest : public ::testing::Test {
 protected:
  void SetUp() override {
    start_.set_jit_id("JIT-2025-014");
    start_.set_item_id("RO-EV-0100");
    start_.set_ciphertext_sha256(std::string(32, 'x'));
    start_.set_chunk_count(3);
    start_.set_ciphertext_size(2 * kRecord + 100);
    tag_ = UploadDeclarationTag("RO-IGPR", start_);
  }

  kafka::Record Chunk(int64_t index, int64_t size, char fill, std::string tag = "") {
    kafka::Record r;
    r.key = start_.item_id();
    r.offset = next_offset_++;
    r.timestamp = t0_ + absl::Seconds(r.offset);
    r.value = std::string(static_cast<size_t>(size), fill);
    r.headers = {{std::string(kChunkIndexHeader), std::to_string(index)},
                 {std::string(kChunkDeclarationHeader), tag.empty() ? tag_ : tag}};
    return r;
  }

  liaison::v1::UploadStart start_;
  std::string tag_;
  absl::Time t0_ = absl::FromUnixSeconds(1777888800);
  int64_t next_offset_ = 10;
};

TEST_F(TakeChunkRecordTest, TheTagNamesUploaderAndEveryDeclaredField) {
  liaison::v1::UploadStart other = start_;
  EXPECT_EQ(UploadDeclarationTag("RO-IGPR", other), tag_);
  EXPECT_NE(UploadDeclarationTag("NL-NP", other), tag_);
  other.set_chunk_count(4);
  EXPECT_NE(UploadDeclarationTag("RO-IGPR", other), tag_);
  other = start_;
  other.set_ciphertext_size(other.ciphertext_size() + 1);
  EXPECT_NE(UploadDeclarationTag("RO-IGPR", other), tag_);
  other = start_;
  other.set_jit_id("JIT-2026-002");
  EXPECT_NE(UploadDeclarationTag("RO-IGPR", other), tag_);
  other = start_;
  other.set_ciphertext_sha256(std::string(32, 'y'));
  EXPECT_NE(UploadDeclarationTag("RO-IGPR", other), tag_);
  other = start_;
  other.add_wrapped_keys("a key is not part of the declaration");
  EXPECT_EQ(UploadDeclarationTag("RO-IGPR", other), tag_);
}

// The one rule both the arriving chunk and the read-back check.
TEST_F(TakeChunkRecordTest, ChunkSizesFollowTheDeclaration) {
  EXPECT_TRUE(CheckChunkSize(start_, 0, kRecord, 0).ok());
  EXPECT_TRUE(CheckChunkSize(start_, 2, 100, 2 * kRecord).ok());
  const absl::Status short_middle = CheckChunkSize(start_, 1, kRecord - 1, kRecord);
  EXPECT_TRUE(absl::IsInvalidArgument(short_middle)) << short_middle;
  EXPECT_EQ(short_middle.message(),
            absl::StrCat("evidence item 'RO-EV-0100' chunk 1: ", kRecord - 1,
                         " bytes, every chunk but the last is ", kRecord));
  const absl::Status long_last = CheckChunkSize(start_, 2, 101, 2 * kRecord);
  EXPECT_TRUE(absl::IsInvalidArgument(long_last)) << long_last;
  EXPECT_EQ(long_last.message(),
            absl::StrCat("evidence item 'RO-EV-0100' chunk 2: 101 bytes make the item ",
                         2 * kRecord + 101, " ciphertext bytes, the manifest declares ",
                         2 * kRecord + 100));
  // A last chunk shorter than its GCM tag holds no ciphertext at all.
  liaison::v1::UploadStart tiny = start_;
  tiny.set_chunk_count(1);
  tiny.set_ciphertext_size(15);
  EXPECT_FALSE(CheckChunkSize(tiny, 0, 15, 0).ok());
}

TEST_F(TakeChunkRecordTest, TakesTheChunksInIndexOrderAndPassesOverTheRest) {
  ReadBackUpload upload;
  const absl::Time since = t0_;
  std::vector<kafka::Record> records;
  records.push_back(Chunk(1, kRecord, 'z'));                    // before chunk 0: a gap
  records.push_back(Chunk(0, kRecord, 'a', "another-upload"));  // another declaration
  kafka::Record other_key = Chunk(0, kRecord, 'a');
  other_key.key = "RO-EV-0101";
  records.push_back(other_key);
  kafka::Record old = Chunk(0, kRecord, 'a');
  old.timestamp = since - absl::Seconds(1);  // older than the upload's age
  records.push_back(old);
  records.push_back(Chunk(0, kRecord, 'a'));      // taken
  records.push_back(Chunk(0, kRecord, 'q'));      // chunk 0 again: passed over
  records.push_back(Chunk(1, kRecord - 1, 'b'));  // not a full chunk
  records.push_back(Chunk(1, kRecord, 'b'));      // taken
  records.push_back(Chunk(2, 99, 'c'));           // the item would be 1 byte short
  std::vector<bool> taken;
  for (const kafka::Record& r : records)
    taken.push_back(TakeChunkRecord(r, start_, tag_, since, upload));
  EXPECT_EQ(taken,
            (std::vector<bool>{false, false, false, false, true, false, false, true, false}));
  EXPECT_EQ(upload.chunks, 2);
  EXPECT_EQ(upload.bytes, 2 * kRecord);
  EXPECT_EQ(upload.passed_over, 4);  // the gap, chunk 0 again, the short chunk, the short item
  EXPECT_EQ(upload.offsets, (std::vector<int64_t>{records[4].offset, records[7].offset}));
  EXPECT_EQ(upload.first_chunk_at, records[4].timestamp);
  ASSERT_EQ(upload.tags.size(), 2u);
  EXPECT_EQ(std::string(upload.tags[1].data(), upload.tags[1].size()),
            std::string(certs::kEvidenceTagBytes, 'b'));

  // The last chunk that makes the declared size completes it; nothing after.
  EXPECT_TRUE(TakeChunkRecord(Chunk(2, 100, 'c'), start_, tag_, since, upload));
  EXPECT_FALSE(TakeChunkRecord(Chunk(3, 100, 'd'), start_, tag_, since, upload));
  EXPECT_EQ(upload.chunks, 3);
  certs::Sha256Stream expected;
  expected.Update(std::string(kRecord, 'a'));
  expected.Update(std::string(kRecord, 'b'));
  expected.Update(std::string(100, 'c'));
  EXPECT_EQ(upload.hasher.Finish(), expected.Finish());
}

TEST_F(TakeChunkRecordTest, ARecordWithoutHeadersOrATombstoneIsNotAChunk) {
  ReadBackUpload upload;
  kafka::Record bare = Chunk(0, kRecord, 'a');
  bare.headers.clear();
  EXPECT_FALSE(TakeChunkRecord(bare, start_, tag_, t0_, upload));
  kafka::Record no_index = Chunk(0, kRecord, 'a');
  no_index.headers.erase(no_index.headers.begin());
  EXPECT_FALSE(TakeChunkRecord(no_index, start_, tag_, t0_, upload));
  kafka::Record bad_index = Chunk(0, kRecord, 'a');
  bad_index.headers[0].value = "0x0";
  EXPECT_FALSE(TakeChunkRecord(bad_index, start_, tag_, t0_, upload));
  kafka::Record tombstone = Chunk(0, 0, 'a');
  tombstone.tombstone = true;
  EXPECT_FALSE(TakeChunkRecord(tombstone, start_, tag_, t0_, upload));
  EXPECT_EQ(upload.chunks, 0);
}

}  // namespace
}  // namespace liaison::broker
