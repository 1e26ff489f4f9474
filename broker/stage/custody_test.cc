#include "broker/stage/custody.h"

#include <string>

#include "base/proto_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace liaison::broker {
namespace {

using liaison::v1::AuditEntry;
using liaison::v1::EvidenceEvent;
using ::testing::HasSubstr;

const absl::Time kNow = absl::FromUnixSeconds(1777888800);  // 2026-05-04T10:00Z

EvidenceEvent Event(EvidenceEvent::Type type) {
  EvidenceEvent e;
  e.set_type(type);
  e.mutable_item()->set_item_id("RO-2025-0713-E001");
  e.mutable_item()->set_jit_id("JIT-2025-014");
  e.mutable_item()->set_ciphertext_sha256(std::string(32, '\x5a'));
  e.set_uploader("RO-IGPR");
  e.set_chunk_count(3);
  e.set_ciphertext_size(2 * 1048592 + 100);
  return e;
}

TEST(Custody, AnUploadIsOneEntryAndOneKeyWrapPerMember) {
  EvidenceEvent e = Event(EvidenceEvent::UPLOADED);
  e.add_members("DE-BKA");
  e.add_members("NL-NP");
  absl::StatusOr<std::vector<AuditEntry>> entries = CustodyEntries(e, "broker-1", kNow);
  ASSERT_TRUE(entries.ok()) << entries.status();
  ASSERT_EQ(entries->size(), 3u);
  const AuditEntry& up = (*entries)[0];
  EXPECT_EQ(up.event(), "evidence-uploaded");
  EXPECT_EQ(up.operation(), liaison::v1::AUDIT_OPERATION_COLLECTION);
  EXPECT_EQ(up.sender(), "RO-IGPR");
  EXPECT_EQ(up.recipient(), "");
  EXPECT_EQ(up.broker_id(), "broker-1");
  EXPECT_EQ(FromProto(up.ts()), kNow);
  ASSERT_EQ(up.evidence_size(), 1);
  EXPECT_EQ(up.evidence(0).item_id(), "RO-2025-0713-E001");
  EXPECT_EQ(up.evidence(0).ciphertext_sha256(), std::string(32, '\x5a'));
  EXPECT_EQ(up.custody().chunk_count(), 3);
  EXPECT_EQ(up.custody().ciphertext_size(), 2 * 1048592 + 100);
  EXPECT_EQ((*entries)[1].event(), "evidence-key-wrapped");
  EXPECT_EQ((*entries)[1].recipient(), "DE-BKA");
  EXPECT_EQ((*entries)[2].recipient(), "NL-NP");
  EXPECT_EQ((*entries)[2].evidence(0).jit_id(), "JIT-2025-014");
}

TEST(Custody, DownloadsAndAcknowledgementsAreDisclosuresToTheirMember) {
  EvidenceEvent started = Event(EvidenceEvent::DOWNLOAD_STARTED);
  started.add_members("DE-BKA");
  started.set_from_chunk(1);
  absl::StatusOr<std::vector<AuditEntry>> s = CustodyEntries(started, "broker-1", kNow);
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_EQ(s->size(), 1u);
  EXPECT_EQ((*s)[0].event(), "evidence-download-started");
  EXPECT_EQ((*s)[0].operation(), liaison::v1::AUDIT_OPERATION_DISCLOSURE);
  EXPECT_EQ((*s)[0].recipient(), "DE-BKA");
  EXPECT_EQ((*s)[0].custody().from_chunk(), 1);

  EvidenceEvent finished = Event(EvidenceEvent::DOWNLOAD_FINISHED);
  finished.add_members("DE-BKA");
  finished.set_from_chunk(1);
  finished.set_chunks_sent(2);
  absl::StatusOr<std::vector<AuditEntry>> f = CustodyEntries(finished, "broker-1", kNow);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ((*f)[0].event(), "evidence-download-finished");
  EXPECT_EQ((*f)[0].custody().chunks_sent(), 2);

  EvidenceEvent ack = Event(EvidenceEvent::ACKNOWLEDGED);
  ack.add_members("DE-BKA");
  ack.mutable_item()->set_sha256(std::string(32, '\x11'));
  absl::StatusOr<std::vector<AuditEntry>> a = CustodyEntries(ack, "broker-1", kNow);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ((*a)[0].event(), "evidence-acknowledged");
  EXPECT_EQ((*a)[0].evidence(0).sha256(), std::string(32, '\x11'));
}

TEST(Custody, AnEventThatCannotBeRecordedIsRefusedNamingWhy) {
  EvidenceEvent no_type = Event(EvidenceEvent::TYPE_UNSPECIFIED);
  no_type.add_members("DE-BKA");
  EXPECT_THAT(std::string(CustodyEntries(no_type, "b", kNow).status().message()),
              HasSubstr("unknown custody event type 0"));

  EvidenceEvent bad_id = Event(EvidenceEvent::DOWNLOAD_STARTED);
  bad_id.add_members("DE-BKA");
  bad_id.mutable_item()->set_item_id("a/b");
  EXPECT_THAT(std::string(CustodyEntries(bad_id, "b", kNow).status().message()),
              HasSubstr("item.item_id"));

  EvidenceEvent short_digest = Event(EvidenceEvent::DOWNLOAD_STARTED);
  short_digest.add_members("DE-BKA");
  short_digest.mutable_item()->set_ciphertext_sha256("abc");
  EXPECT_THAT(std::string(CustodyEntries(short_digest, "b", kNow).status().message()),
              HasSubstr("3 bytes, not 32"));

  EvidenceEvent nobody = Event(EvidenceEvent::ACKNOWLEDGED);
  EXPECT_THAT(std::string(CustodyEntries(nobody, "b", kNow).status().message()),
              HasSubstr("no member"));

  EvidenceEvent two = Event(EvidenceEvent::DOWNLOAD_FINISHED);
  two.add_members("DE-BKA");
  two.add_members("NL-NP");
  EXPECT_THAT(std::string(CustodyEntries(two, "b", kNow).status().message()),
              HasSubstr("2 members"));
}

}  // namespace
}  // namespace liaison::broker
