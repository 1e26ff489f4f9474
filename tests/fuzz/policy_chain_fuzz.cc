// Fuzz target: the policy chain on well-formed messages. The input is a
// liaison.v1.Message in protobuf binary (seeds: tests/fuzz/corpus, made from
// the scenario messages and deploy/examples). For every recipient the chain
// is evaluated twice against the development registry at the scenario time;
// the two decisions must be identical in everything the audit records
// (outcome, rules, redactions, holds, explanation: ToProto(decision)), and
// Redact() of an ALLOW/REDACT decision must give the same bytes twice and
// never fail with Internal (which redact.h reserves for bugs). Mutation is
// structure-aware (proto_mutator.h), so most inputs stay parseable messages.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "policy/chain.h"
#include "policy/counters.h"
#include "policy/decision.h"
#include "policy/redact.h"
#include "policy/testing/scenario.h"
#include "tests/fuzz/proto_mutator.h"
#include "tests/fuzz/quiet_protobuf.h"

namespace {

namespace v1 = liaison::v1;
namespace policy = liaison::policy;
namespace scenario = liaison::policy::scenario;

// No earlier traffic: lets DP-BULK-01 and DP-XFER-03 decide instead of
// failing closed for want of counters.
class NoTraffic final : public policy::Counters {
 public:
  int64_t Sum(std::string_view, std::string_view, policy::Metric, absl::Duration,
              absl::Time) const override {
    return 0;
  }
};

[[noreturn]] void Fail(const char* what, std::string_view recipient) {
  std::fprintf(stderr, "policy_chain_fuzz: %s (recipient '%.*s')\n", what,
               static_cast<int>(recipient.size()), recipient.data());
  std::abort();
}

std::string Audited(const policy::Decision& d) {
  std::string out;
  google::protobuf::io::StringOutputStream stream(&out);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  if (!policy::ToProto(d).SerializeToCodedStream(&coded)) std::abort();
  coded.Trim();
  return out;
}

std::string Deterministic(const v1::Message& m) {
  std::string out;
  google::protobuf::io::StringOutputStream stream(&out);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  if (!m.SerializeToCodedStream(&coded)) std::abort();
  coded.Trim();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  liaison::fuzz::QuietProtobuf();
  return 0;
}

// Structure-aware mutation (proto_mutator.h) with the registry's strings
// (endpoint ids, codes, JIT ids and case references) as the value pool.
extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size,
                                          unsigned int seed) {
  static const std::vector<std::string> pool = [] {
    std::vector<std::string> p;
    liaison::fuzz::CollectStrings(scenario::DevRegistry()->proto(), p);
    std::sort(p.begin(), p.end());
    p.erase(std::unique(p.begin(), p.end()), p.end());
    return p;
  }();
  return liaison::fuzz::MutateProto(v1::Message::default_instance(), pool, data, size, max_size,
                                    seed);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto chain = scenario::DevChain();
  static const NoTraffic counters;
  static const scenario::TestPseudonymiser pseudonymiser;

  v1::Message message;
  if (!message.ParseFromArray(data, static_cast<int>(size))) return 0;
  // Bounded work per input: the front door caps recipients at 64.
  const int recipients = std::min(message.header().recipients_size(), 16);
  for (int i = 0; i < recipients; ++i) {
    const std::string recipient = message.header().recipients(i);
    policy::Input in = scenario::InputFor(message, recipient);
    in.message_bytes = size;
    in.counters = &counters;
    const policy::Decision first = chain->Evaluate(in);
    const policy::Decision second = chain->Evaluate(in);
    if (Audited(first) != Audited(second)) Fail("two evaluations differ", recipient);
    if (first.outcome != v1::OUTCOME_ALLOW && first.outcome != v1::OUTCOME_REDACT) continue;
    auto a = policy::Redact(message, first, pseudonymiser, recipient);
    auto b = policy::Redact(message, first, pseudonymiser, recipient);
    if (a.ok() != b.ok()) Fail("Redact succeeded once and failed once", recipient);
    if (!a.ok()) {
      if (a.status().code() == absl::StatusCode::kInternal) {
        std::fprintf(stderr, "%s\n", a.status().ToString().c_str());
        Fail("Redact: Internal (a step does not fit the message)", recipient);
      }
      if (a.status() != b.status()) Fail("Redact errors differ", recipient);
      continue;
    }
    if (Deterministic(*a) != Deterministic(*b)) Fail("two redactions differ", recipient);
  }
  return 0;
}
