// Per-endpoint front-door limits from the registry (EndpointLimits): going
// over answers RESOURCE_EXHAUSTED naming the limit, the process stays up,
// and what was already accepted is not affected.
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "base/testing/status_matchers.h"
#include "certs/testing/test_pki.h"
#include "gtest/gtest.h"
#include "tests/fixtures/test_broker.h"
#include "tests/fixtures/wait.h"

namespace liaison::testing {
namespace {

std::string RegistryWithTightLimits() {
  const std::string path = MakeTempDir("liaison-limits") + "/registry.textproto";
  std::string text = ReadFileOrDie(SourcePath("deploy/registry/dev.textproto"));
  // The development registry's default_limits, tightened.
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"max_subscribe_streams: 4", "max_subscribe_streams: 1"},
           {"max_send_streams: 4", "max_send_streams: 1"},
           {"max_in_flight_bytes: 67108864", "max_in_flight_bytes: 1"},
           {"max_explain_per_minute: 60", "max_explain_per_minute: 2"}}) {
    const size_t at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) text.replace(at, from.size(), to);
  }
  FILE* f = std::fopen(path.c_str(), "wb");
  EXPECT_NE(f, nullptr);
  std::fwrite(text.data(), 1, text.size(), f);
  std::fclose(f);
  return path;
}

TEST(EndpointLimits, GoingOverALimitIsResourceExhaustedNamingTheLimit) {
  TestBrokerOptions options;
  options.registry_path = RegistryWithTightLimits();
  absl::StatusOr<std::unique_ptr<TestBroker>> broker = TestBroker::Start(options);
  ASSERT_TRUE(broker.ok()) << broker.status();
  LIAISON_ASSERT_OK_AND_ASSIGN(auto lv, (*broker)->Client("LV-VP"));

  // Subscribe streams: the second one is refused, the first keeps working.
  LIAISON_ASSERT_OK_AND_ASSIGN(auto first, lv->Subscribe());
  absl::StatusOr<std::unique_ptr<endpoint::Subscription>> second = lv->Subscribe();
  EXPECT_EQ(second.status().code(), absl::StatusCode::kResourceExhausted) << second.status();
  EXPECT_TRUE(absl::StrContains(second.status().message(), "max_subscribe_streams 1"))
      << second.status();
  EXPECT_EQ(first->Next(absl::Milliseconds(100)).status().code(),
            absl::StatusCode::kDeadlineExceeded);

  // Explain: two a minute.
  const liaison::v1::Message question = TestAlert("LV-VP", {"SE-NOA"}, absl::Now());
  absl::Status third;
  for (int i = 0; i < 3; ++i) third = lv->Explain(question, {}).status();
  EXPECT_EQ(third.code(), absl::StatusCode::kResourceExhausted) << third;
  EXPECT_TRUE(absl::StrContains(third.message(), "max_explain_per_minute 2")) << third;

  // In-flight bytes (1 byte: one envelope at a time) over a SendStream: the
  // envelopes that arrive while another is being accepted are refused by
  // name; every other one is accepted.
  absl::Mutex mu;
  int accepted = 0, exhausted = 0, other = 0;
  std::string exhausted_error;
  {
    std::unique_ptr<endpoint::SendStream> stream =
        lv->OpenSendStream([&](const liaison::v1::SendResult& r) {
          absl::MutexLock lock(&mu);
          if (r.code() == 0) {
            ++accepted;
          } else if (r.code() == static_cast<int>(absl::StatusCode::kResourceExhausted)) {
            ++exhausted;
            exhausted_error = r.error();
          } else {
            ++other;
          }
        });
    for (int i = 0; i < 40; ++i) {
      liaison::v1::Message m = TestAlert("LV-VP", {"SE-NOA"}, absl::Now());
      LIAISON_ASSERT_OK_AND_ASSIGN(auto envelope, lv->Seal(m, absl::Now()));
      LIAISON_ASSERT_OK(stream->Write(envelope));
    }
    LIAISON_ASSERT_OK(stream->Close());
  }
  absl::MutexLock lock(&mu);
  EXPECT_EQ(accepted + exhausted, 40) << other << " other errors";
  EXPECT_GT(accepted, 0);
  EXPECT_GT(exhausted, 0);
  EXPECT_TRUE(absl::StrContains(exhausted_error, "max_in_flight_bytes 1")) << exhausted_error;
  // A second SendStream at the same time would be refused too.
}

}  // namespace
}  // namespace liaison::testing
