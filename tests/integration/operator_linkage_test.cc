// Operators and the case-linkage index: a running broker answers
// GetLinkageIndex, /metrics and /api/linkage with live entries per
// (endpoint, epoch) and the epochs in force, counts only. Entries are
// published and withdrawn by real endpoint clients (signed batches over
// mTLS, stored in Kafka), and the counts follow them to 0.
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/testing/status_matchers.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/integration/operator_test_util.h"

namespace liaison::testing {
namespace {

using liaison::v1::IndexBatch;
using liaison::v1::IndexBatchResult;

// The metric line of (endpoint, epoch), e.g. `...{endpoint="RO-IGPR",epoch="1"} 3`.
std::string MetricLine(const std::string& endpoint, uint32_t epoch, int64_t entries) {
  return absl::StrCat("\nliaison_linkage_index_entries{endpoint=\"", endpoint, "\",epoch=\"", epoch,
                      "\"} ", entries, "\n");
}

// Every string field reachable from `d`, as "Message.field"; bytes fields
// are collected too (as "bytes:Message.field").
void TextFields(const google::protobuf::Descriptor* d, std::set<std::string>& seen,
                std::set<std::string>& out) {
  using google::protobuf::FieldDescriptor;
  if (!seen.insert(d->full_name()).second) return;
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (f->type() == FieldDescriptor::TYPE_STRING) out.insert(d->name() + "." + f->name());
    if (f->type() == FieldDescriptor::TYPE_BYTES)
      out.insert("bytes:" + d->name() + "." + f->name());
    if (f->type() == FieldDescriptor::TYPE_MESSAGE) TextFields(f->message_type(), seen, out);
  }
}

// The answer has no field that could carry a blinded value, a case handle
// or any other part of an entry: its only strings name the endpoint and the
// registry version.
TEST(OperatorLinkage, TheAnswerHasNoFieldForAValueOrAHandle) {
  std::set<std::string> seen;
  std::set<std::string> fields;
  TextFields(liaison::v1::LinkageIndexResponse::descriptor(), seen, fields);
  EXPECT_EQ(fields, (std::set<std::string>{"LinkageIndexCount.endpoint_id",
                                           "LinkageIndexResponse.registry_version"}));
}

TEST(OperatorLinkage, CountsPerEndpointAndEpochFollowPublishingAndWithdrawing) {
  auto broker = StartOperatorBroker();
  ASSERT_NE(broker, nullptr);
  auto ops = AdminStub(*broker, OperatorPrefix());
  const absl::Time now = absl::Now();

  // Before anything is published: every registry endpoint at 0 in epoch 1.
  liaison::v1::LinkageIndexResponse index = LinkageIndex(*ops);
  EXPECT_EQ(std::vector<uint32_t>(index.epochs_in_force().begin(), index.epochs_in_force().end()),
            std::vector<uint32_t>{1});
  EXPECT_EQ(index.entries(), 0);
  EXPECT_EQ(index.counts_size(), 10) << index.DebugString();
  EXPECT_EQ(LinkageEntries(index, "RO-IGPR", 1), 0);
  EXPECT_EQ(index.records_skipped(), 0);
  EXPECT_GT(index.max_entries_per_endpoint(), 0);
  EXPECT_FALSE(index.registry_version().empty());
  EXPECT_TRUE(absl::StrContains(HttpGet(*broker, "/metrics").body, MetricLine("RO-IGPR", 1, 0)));

  // RO-IGPR publishes three identifiers of two cases, BG-GDNP one.
  LIAISON_ASSERT_OK_AND_ASSIGN(auto ro, broker->Client("RO-IGPR"));
  LIAISON_ASSERT_OK_AND_ASSIGN(auto bg, broker->Client("BG-GDNP"));
  IndexBatch ro_batch;
  ro_batch.set_epoch(1);
  *ro_batch.add_entries() = BlindedPhoneEntry("+40 721 000 111", "LNK-RO-OPS-1", now);
  *ro_batch.add_entries() = BlindedPhoneEntry("+40 721 000 112", "LNK-RO-OPS-1", now);
  *ro_batch.add_entries() = BlindedPhoneEntry("+40 721 000 113", "LNK-RO-OPS-2", now);
  IndexBatch bg_batch;
  bg_batch.set_epoch(1);
  *bg_batch.add_entries() = BlindedPhoneEntry("+359 888 000 111", "LNK-BG-OPS-1", now);
  LIAISON_ASSERT_OK_AND_ASSIGN(std::vector<IndexBatchResult> results, ro->PublishIndex({ro_batch}));
  ASSERT_EQ(results.size(), 1u);
  ASSERT_EQ(results[0].code(), 0) << results[0].error();
  LIAISON_ASSERT_OK_AND_ASSIGN(results, bg->PublishIndex({bg_batch}));
  ASSERT_EQ(results.size(), 1u);
  ASSERT_EQ(results[0].code(), 0) << results[0].error();

  // Stored means answerable on this node: the counts show it at once.
  index = LinkageIndex(*ops);
  EXPECT_EQ(LinkageEntries(index, "RO-IGPR", 1), 3) << index.DebugString();
  EXPECT_EQ(LinkageEntries(index, "BG-GDNP", 1), 1) << index.DebugString();
  EXPECT_EQ(LinkageEntries(index, "DE-BKA", 1), 0) << index.DebugString();
  EXPECT_EQ(index.entries(), 4);
  const std::string metrics = HttpGet(*broker, "/metrics").body;
  EXPECT_TRUE(absl::StrContains(metrics, "\n# TYPE liaison_linkage_index_entries gauge\n"))
      << metrics;
  EXPECT_TRUE(absl::StrContains(metrics, MetricLine("RO-IGPR", 1, 3))) << metrics;
  EXPECT_TRUE(absl::StrContains(metrics, MetricLine("BG-GDNP", 1, 1))) << metrics;
  HttpResult api = HttpGet(*broker, "/api/linkage");
  ASSERT_EQ(api.status, 200);
  EXPECT_EQ(api.content_type, "application/json");
  EXPECT_TRUE(absl::StrContains(api.body, "\"entries\":\"4\"")) << api.body;
  liaison::v1::LinkageIndexResponse from_http;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(api.body, &from_http).ok()) << api.body;
  EXPECT_EQ(from_http.epochs_in_force_size(), 1);
  EXPECT_EQ(LinkageEntries(from_http, "RO-IGPR", 1), 3) << api.body;
  EXPECT_EQ(LinkageEntries(from_http, "BG-GDNP", 1), 1) << api.body;

  // Counts, never an entry: no handle and no value in any form.
  const std::string answers = index.DebugString() + Json(index) + metrics + api.body;
  for (const IndexBatch* b : {&ro_batch, &bg_batch}) {
    for (const auto& e : b->entries()) {
      for (const std::string& form :
           {e.case_handle(), e.value(), absl::BytesToHexString(e.value()),
            absl::Base64Escape(e.value()), absl::WebSafeBase64Escape(e.value())}) {
        EXPECT_FALSE(absl::StrContains(answers, form)) << form;
      }
    }
  }
  EXPECT_FALSE(absl::StrContains(answers, "LNK-"));

  // Withdrawing brings RO-IGPR back to 0 (the row stays, at 0).
  IndexBatch withdraw;
  withdraw.set_epoch(1);
  withdraw.add_withdrawals()->set_case_handle("LNK-RO-OPS-1");
  withdraw.add_withdrawals()->set_case_handle("LNK-RO-OPS-2");
  LIAISON_ASSERT_OK_AND_ASSIGN(results, ro->PublishIndex({withdraw}));
  ASSERT_EQ(results.size(), 1u);
  ASSERT_EQ(results[0].code(), 0) << results[0].error();
  EXPECT_EQ(results[0].withdrawn(), 3);
  index = LinkageIndex(*ops);
  EXPECT_EQ(LinkageEntries(index, "RO-IGPR", 1), 0) << index.DebugString();
  EXPECT_EQ(LinkageEntries(index, "BG-GDNP", 1), 1) << index.DebugString();
  EXPECT_EQ(index.entries(), 1);
  const std::string after = HttpGet(*broker, "/metrics").body;
  EXPECT_TRUE(absl::StrContains(after, MetricLine("RO-IGPR", 1, 0))) << after;
  EXPECT_TRUE(absl::StrContains(after, MetricLine("BG-GDNP", 1, 1))) << after;
}

TEST(OperatorLinkage, OnlyOperatorsMayReadTheIndexCounts) {
  auto broker = StartOperatorBroker();
  ASSERT_NE(broker, nullptr);
  for (const auto& [who, prefix, code] :
       std::vector<std::tuple<std::string, std::string, grpc::StatusCode>>{
           {"no certificate", "", grpc::StatusCode::UNAUTHENTICATED},
           {"an endpoint", SharedTestPki().dir + "/endpoints/DE-BKA/tls",
            grpc::StatusCode::PERMISSION_DENIED}}) {
    auto stub = AdminStub(*broker, prefix);
    grpc::ClientContext c;
    Deadline(c);
    liaison::v1::LinkageIndexResponse out;
    EXPECT_EQ(stub->GetLinkageIndex(&c, {}, &out).error_code(), code) << who;
  }
}

}  // namespace
}  // namespace liaison::testing
