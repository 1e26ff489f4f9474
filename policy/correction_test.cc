#include "policy/correction.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policy/testing/scenario.h"

namespace liaison::policy {
namespace {

using ::testing::ElementsAre;

TEST(CorrectionRecipients, AreEveryEndpointThatReceivedATargetSortedOnce) {
  InMemorySourceIndex sources;
  sources.Add(scenario::Ac01SourceRecord());
  SourceRecord second = scenario::Ac07SourceM700();
  second.ref.set_provider("RO-IGPR");
  second.delivered_to = {"NL-NP", "GB-NCA", "RO-IGPR"};
  sources.Add(second);
  auto m = scenario::Ac23EraseCorrection();
  m.mutable_correction()->add_target_message_ids(scenario::Ac07SourceId());
  auto r = CorrectionRecipients(m, sources);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(*r, ElementsAre("BG-GDNP", "DE-BKA", "ES-PN", "FR-OCRTEH", "GB-NCA", "LV-VP", "NL-NP",
                              "SE-NOA"));
}

TEST(CorrectionRecipients, FailsForAnUnknownTarget) {
  InMemorySourceIndex sources;
  EXPECT_EQ(CorrectionRecipients(scenario::Ac23EraseCorrection(), sources).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(CorrectionRecipients, FailsForAnotherProvidersTarget) {
  InMemorySourceIndex sources;
  sources.Add(scenario::Ac01SourceRecord());
  auto m = scenario::Ac23EraseCorrection();
  m.mutable_header()->set_sender("DE-BKA");
  EXPECT_EQ(CorrectionRecipients(m, sources).status().code(), absl::StatusCode::kPermissionDenied);
}

TEST(CorrectionRecipients, FailsForAMessageThatIsNoCorrection) {
  InMemorySourceIndex sources;
  EXPECT_EQ(CorrectionRecipients(scenario::Ac01MissingChildAlert(), sources).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace liaison::policy
