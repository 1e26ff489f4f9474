// Operators see metadata, never content (docs/architecture.md): messages whose content
// carries marker strings (names, summary, case reference, requested action,
// officer id, birth place) go through a running broker with every outcome
// (allow, redact, hold, reject, refused at the front door), an endpoint
// publishes case-linkage entries whose case handles carry markers, and no
// marker, handle or blinded value may appear in any admin answer, the admin
// event stream, /metrics, any /api/* answer, the /api/events stream, the
// dashboard's files, or the broker's log lines (captured at debug level).
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "base/log.h"
#include "base/testing/log_capture.h"
#include "base/testing/status_matchers.h"
#include "broker/core/clock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/reflection.h"
#include "gtest/gtest.h"
#include "policy/testing/scenario.h"
#include "tests/fixtures/wait.h"
#include "tests/integration/operator_test_util.h"

namespace liaison::testing {
namespace {

namespace sc = liaison::policy::scenario;
using endpoint::Client;
using endpoint::Subscription;
using liaison::v1::Admin;

// Strings planted in message content; no operator output may contain any.
std::vector<std::string>& Markers() {
  static auto* markers = new std::vector<std::string>{
      "ZZLEAK-MARKER-1", "ZZLEAK-MARKER-2", "ZZLEAK-MARKER-3", "ZZLEAK-MARKER-4",
      "ZZLEAK-MARKER-5", "ZZLEAK-MARKER-6", "ZZLEAK-MARKER-7"};
  return *markers;
}

// Fields that carry protocol identifiers the broker must be able to route
// and match on (message and entity ids, endpoint ids, registry codes, times,
// country codes): planting there would only make the message invalid.
bool Routing(const google::protobuf::FieldDescriptor* f) {
  static const auto* names = new std::set<std::string>{"message_id",
                                                       "sender",
                                                       "recipients",
                                                       "legal_basis",
                                                       "jit_id",
                                                       "entity_id",
                                                       "subject_ids",
                                                       "document_refs",
                                                       "location_refs",
                                                       "comm_refs",
                                                       "account_refs",
                                                       "vehicle_refs",
                                                       "holder_ref",
                                                       "from_id",
                                                       "to_id",
                                                       "consent_refs",
                                                       "derived_from",
                                                       "in_reply_to",
                                                       "special_basis",
                                                       "code",
                                                       "ref",
                                                       "provider",
                                                       "original_recipients",
                                                       "obtained_in",
                                                       "original_provider",
                                                       "source_recipients",
                                                       "nationalities",
                                                       "country",
                                                       "plate_country",
                                                       "issuing_country",
                                                       "key",
                                                       "value",
                                                       "used_in",
                                                       "grantor",
                                                       "grantee",
                                                       "message_ids",
                                                       "consent_id",
                                                       "justification_id",
                                                       "offence_refs",
                                                       "national_grade"};
  return names->count(f->name()) > 0;
}

// Walks the descriptors of `m` and puts a fresh marker into every other
// string field that is set, header included, so a field added later is
// covered too (no hand-picked list of content fields).
void PlantEverywhere(google::protobuf::Message* m) {
  using google::protobuf::FieldDescriptor;
  const google::protobuf::Reflection* r = m->GetReflection();
  std::vector<const FieldDescriptor*> fields;
  r->ListFields(*m, &fields);
  for (const FieldDescriptor* f : fields) {
    if (f->is_map()) continue;
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (f->is_repeated()) {
        for (int i = 0; i < r->FieldSize(*m, f); ++i)
          PlantEverywhere(r->MutableRepeatedMessage(m, f, i));
      } else {
        PlantEverywhere(r->MutableMessage(m, f));
      }
      continue;
    }
    if (f->type() != FieldDescriptor::TYPE_STRING || Routing(f)) continue;
    auto next = [] {
      Markers().push_back(absl::StrCat("ZZLEAK-MARKER-W", Markers().size(), "Q"));
      return Markers().back();
    };
    if (f->is_repeated()) {
      for (int i = 0; i < r->FieldSize(*m, f); ++i) r->SetRepeatedString(m, f, i, next());
    } else {
      r->SetString(m, f, next());
    }
  }
}

void Plant(liaison::v1::Message& m) {
  liaison::v1::Header* h = m.mutable_header();
  h->set_case_ref(h->sender().substr(0, 2) + "-ZZLEAK-MARKER-3");
  if (m.has_alert()) {
    m.mutable_alert()->set_summary("ZZLEAK-MARKER-2 summary");
    m.mutable_alert()->set_requested_action("ZZLEAK-MARKER-4 action");
    for (auto& e : *m.mutable_alert()->mutable_entities()) {
      if (!e.has_person()) continue;
      for (auto& n : *e.mutable_person()->mutable_names()) {
        n.set_family("ZZLEAK-MARKER-1");
        n.set_given("ZZLEAK-MARKER-5");
      }
      e.mutable_person()->set_birth_place("ZZLEAK-MARKER-6");
    }
  }
  if (m.has_info()) {
    for (auto& e : *m.mutable_info()->mutable_entities()) {
      if (!e.has_person()) continue;
      for (auto& n : *e.mutable_person()->mutable_names()) {
        n.set_family("ZZLEAK-MARKER-1");
        n.set_given("ZZLEAK-MARKER-7");
      }
    }
  }
}

TEST(OperatorPrivacy, NoPayloadMarkerReachesAnyOperatorViewOrLogLine) {
  LogCapture logs(log::Level::kDebug);
  broker::ManualClock clock(sc::T0());
  TestBrokerOptions options;
  options.clock = &clock;
  auto broker = StartOperatorBroker(options);
  ASSERT_NE(broker, nullptr);
  auto ops = AdminStub(*broker, OperatorPrefix());
  FlowWatch watch(*ops, 0);
  std::vector<std::unique_ptr<Client>> clients;
  LIAISON_ASSERT_OK_AND_ASSIGN(auto subs,
                               SubscribeAll(*broker, {"DE-BKA", "BG-GDNP", "RO-IGPR"}, clients));
  LIAISON_ASSERT_OK_AND_ASSIGN(auto ro, broker->Client("RO-IGPR"));
  LIAISON_ASSERT_OK_AND_ASSIGN(auto nl, broker->Client("NL-NP"));

  // ALLOW (DE), HOLD (GB), REJECT (MD) and REDACT (BG) of planted content,
  // plus a refused (tampered) envelope.
  liaison::v1::Message alert = TestAlert("RO-IGPR", {"DE-BKA", "LV-VP"}, sc::T0());
  Plant(alert);
  alert.mutable_header()->set_sender_officer("RO-ZZLEAK-MARKER-6");
  liaison::v1::Message wide = sc::Ac02MissingChildAlertWide();
  Plant(wide);
  liaison::v1::Message victim = sc::Ac03VictimInfoExchange();
  Plant(victim);
  // Every other string the message carries, header fields included.
  victim.mutable_header()->set_strict_necessity("DPO note");
  victim.mutable_header()->set_sender_officer("NL-officer");
  PlantEverywhere(&victim);
  PlantEverywhere(&wide);
  LIAISON_ASSERT_OK(SealAndSend(*ro, alert, sc::T0()));
  LIAISON_ASSERT_OK(SealAndSend(*ro, wide, sc::T0()));
  LIAISON_ASSERT_OK(SealAndSend(*nl, victim, sc::T0()));
  liaison::v1::Message tampered = TestAlert("RO-IGPR", {"DE-BKA"}, sc::T0());
  Plant(tampered);
  LIAISON_ASSERT_OK_AND_ASSIGN(auto envelope, ro->Seal(tampered, sc::T0()));
  (*envelope.mutable_message())[12] ^= 1;
  EXPECT_FALSE(ro->Send(envelope).ok());

  // Published case-linkage entries: their handles carry markers, and their
  // blinded values must not show either (raw, hex or base64).
  liaison::v1::IndexBatch index_batch;
  index_batch.set_epoch(1);
  *index_batch.add_entries() =
      BlindedPhoneEntry("+40 721 000 411", "LNK-RO-ZZLEAK-MARKER-H1", sc::T0());
  *index_batch.add_entries() =
      BlindedPhoneEntry("+40 721 000 412", "LNK-RO-ZZLEAK-MARKER-H2", sc::T0());
  LIAISON_ASSERT_OK_AND_ASSIGN(auto published, ro->PublishIndex({index_batch}));
  ASSERT_EQ(published.size(), 1u);
  ASSERT_EQ(published[0].code(), 0) << published[0].error();
  std::vector<std::string> index_secrets;
  for (const auto& e : index_batch.entries()) {
    index_secrets.insert(index_secrets.end(),
                         {e.case_handle(), e.value(), absl::BytesToHexString(e.value()),
                          absl::Base64Escape(e.value()), absl::WebSafeBase64Escape(e.value())});
  }

  // The planted content did travel: DE-BKA receives the markers.
  std::vector<Subscription::Received> de = Collect(*subs[0], 2, absl::Seconds(30));
  bool delivered_marker = false;
  for (const auto& r : de) {
    if (r.verified.ok() && r.verified->message().has_value()) {
      delivered_marker |=
          absl::StrContains(r.verified->message()->DebugString(), "ZZLEAK-MARKER-1");
    }
  }
  EXPECT_TRUE(delivered_marker) << "the test must send content that reaches the recipient";
  (void)Collect(*subs[1], 1, absl::Seconds(30));
  (void)Collect(*subs[2], 3, absl::Seconds(10));  // receipts and notices to RO-IGPR

  // Every decision is visible (ids, endpoints, outcomes) before we look.
  const std::set<std::string> ids = {alert.header().message_id(), wide.header().message_id(),
                                     victim.header().message_id()};
  std::vector<liaison::v1::FlowEventInfo> events = watch.WaitFor([&](const auto& got) {
    std::set<std::string> seen;
    for (const auto& e : got) seen.insert(e.message_id());
    return seen.size() >= 3 && got.size() >= 2 + 9 + 2;
  });
  ASSERT_TRUE(WaitFor([&] { return Holds(*ops).holds_size() == 1; }));
  broker->node().ProbeKafkaForTest();

  std::map<std::string, std::string> outputs;
  for (size_t i = 0; i < events.size(); ++i) outputs["watch event"] += events[i].DebugString();
  outputs["ListEndpoints"] = Endpoints(*ops).DebugString();
  outputs["GetFlowStats"] = Flows(*ops).DebugString();
  outputs["ListHolds"] = Holds(*ops).DebugString();
  outputs["GetHealth"] = Health(*ops).DebugString();
  outputs["GetLinkageIndex"] = LinkageIndex(*ops).DebugString();
  for (const char* path :
       {"/", "/index.html", "/dashboard.js", "/dashboard.css", "/metrics", "/api/endpoints",
        "/api/flows", "/api/holds", "/api/health", "/api/linkage", "/api/recent?max=1000"}) {
    HttpResult r = HttpGet(*broker, path);
    EXPECT_EQ(r.status, 200) << path;
    outputs[path] = r.body;
  }
  const std::string last = absl::StrCat("id: ", events.empty() ? 0 : events.back().seq(), "\n");
  outputs["/api/events"] = ReadEvents(*broker, "/api/events?replay=1000", [&](const auto& body) {
    return absl::StrContains(body, last);
  });
  outputs["log lines"] = logs.Text();

  // The views describe these messages (so an empty view cannot pass)...
  for (const std::string& id : ids) {
    EXPECT_TRUE(absl::StrContains(outputs["GetFlowStats"] + outputs["watch event"], id) ||
                absl::StrContains(outputs["/api/recent?max=1000"], id))
        << id;
    EXPECT_TRUE(absl::StrContains(outputs["/api/events"], id)) << id;
  }
  EXPECT_TRUE(absl::StrContains(outputs["ListHolds"], wide.header().message_id()));
  EXPECT_TRUE(absl::StrContains(outputs["/metrics"], "outcome=\"REDACT\""));
  EXPECT_TRUE(absl::StrContains(outputs["GetLinkageIndex"], "entries: 2"))
      << outputs["GetLinkageIndex"];
  EXPECT_TRUE(absl::StrContains(
      outputs["/metrics"], "liaison_linkage_index_entries{endpoint=\"RO-IGPR\",epoch=\"1\"} 2"));
  EXPECT_TRUE(absl::StrContains(outputs["log lines"], "\"event\":\"broker.started\""))
      << "the log capture must cover the broker's whole life";
  // ...and never their content.
  std::vector<std::string> forbidden = Markers();
  for (const std::string& v : sc::PersonalValues()) forbidden.push_back(v);
  forbidden.push_back("ZZLEAK");
  for (const std::string& v : index_secrets) forbidden.push_back(v);
  for (const auto& [where, text] : outputs) {
    for (const std::string& value : forbidden) {
      const size_t at = text.find(value);
      EXPECT_EQ(at, std::string::npos)
          << "'" << value << "' appears in " << where << ": ..."
          << text.substr(at == std::string::npos ? 0 : (at > 200 ? at - 200 : 0), 400) << "...";
    }
  }
}

}  // namespace
}  // namespace liaison::testing
