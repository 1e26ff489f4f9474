// The index publisher's pure parts: a batch checked against the registry and
// the node's book (with the entries of a pipelined stream's earlier batches
// counted against the endpoint's limit), and finding withdrawals in a
// serialised batch without parsing it.
#include "broker/frontdoor/index_publisher.h"

#include <string>

#include "base/proto_time.h"
#include "broker/frontdoor/dev_registry_for_test.h"
#include "gtest/gtest.h"

namespace liaison::broker {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1796400000);

liaison::v1::IndexBatch TwoEntries() {
  liaison::v1::IndexBatch b;
  b.set_batch_id("batch-1");
  b.set_publisher("RO-IGPR");
  b.set_epoch(1);
  for (char c : {'\x01', '\x02'}) {
    liaison::v1::IndexEntry* e = b.add_entries();
    e->set_type(liaison::v1::IDENTIFIER_TYPE_IBAN);
    e->set_value(std::string(31, '\x9f') + c);
    e->set_case_handle("LNK-RO-0001");
    *e->mutable_expires_at() = ToProto(kNow + absl::Hours(24));
  }
  return b;
}

TEST(PlanIndexBatch, EntriesOfEarlierBatchesStillInFlightCountAgainstTheLimit) {
  const auto registry = DevRegistryForTest();
  const int64_t limit = registry->max_linkage_entries_per_endpoint();
  LinkageBook book;
  EXPECT_TRUE(PlanIndexBatch(TwoEntries(), "RO-IGPR", *registry, book, kNow, limit - 2).ok());
  absl::StatusOr<IndexPlan> over =
      PlanIndexBatch(TwoEntries(), "RO-IGPR", *registry, book, kNow, limit - 1);
  EXPECT_EQ(over.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(over.status().message().find("(linkage.max_entries_per_endpoint)"), std::string::npos)
      << over.status();
}

TEST(HasWithdrawals, FindsTheFieldWithoutParsingTheEntries) {
  liaison::v1::IndexBatch b = TwoEntries();
  EXPECT_FALSE(HasWithdrawals(b.SerializeAsString()));
  b.add_withdrawals()->set_case_handle("LNK-RO-0001");
  EXPECT_TRUE(HasWithdrawals(b.SerializeAsString()));
  EXPECT_FALSE(HasWithdrawals(""));
  // Bytes that do not parse are treated as having withdrawals (the stream
  // waits; the publisher then refuses the batch).
  EXPECT_TRUE(HasWithdrawals(std::string("\x0a\xff\xff\xff\xff\x0f", 6)));
}

}  // namespace
}  // namespace liaison::broker
