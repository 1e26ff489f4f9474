// Micro-benchmark of the policy chain (target policy_chain_bench, built with
// LIAISON_BENCH). A typical alert with 3 persons to 5 recipients on the
// development registry; reports time and heap allocations per recipient
// decision, with and without redaction applied.
//
//   ./build-policy/policy/policy_chain_bench
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "policy/chain.h"
#include "policy/consents.h"
#include "policy/counters.h"
#include "policy/redact.h"
#include "policy/sources.h"
#include "policy/testing/scenario.h"

// Counts heap allocations so the benchmark can report them per decision.
namespace {
std::atomic<int64_t> g_allocations{0};
}  // namespace

void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace liaison::policy {
namespace {

// Broker-side state with some history, as in production: each sender ->
// recipient pair has seen traffic in the last hour.
struct State {
  SlidingWindowCounters counters;
  InMemorySourceIndex sources;
  InMemoryConsentIndex consents;

  State() {
    for (const std::string& r : scenario::BenchRecipients()) {
      for (int i = 0; i < 60; ++i) {
        counters.Record("RO-IGPR", r, Usage{.persons = 1, .bytes = 2048},
                        scenario::T0() - absl::Minutes(60 - i));
      }
    }
  }

  Input For(const liaison::v1::Message& m, const std::string& recipient, size_t bytes) const {
    Input in;
    in.message = &m;
    in.recipient = recipient;
    in.message_bytes = bytes;
    in.counters = &counters;
    in.sources = &sources;
    in.consents = &consents;
    in.now = scenario::T0();
    return in;
  }
};

void Run(benchmark::State& bench, const liaison::v1::Message& m, bool redact) {
  const std::shared_ptr<const Chain> chain = scenario::DevChain();
  const State state;
  const std::vector<std::string> recipients = scenario::BenchRecipients();
  const size_t bytes = m.ByteSizeLong();
  const scenario::TestPseudonymiser pseudonymiser;
  int64_t redacted = 0;
  const int64_t allocations_before = g_allocations.load();
  for (auto _ : bench) {
    for (const std::string& r : recipients) {
      Decision d = chain->Evaluate(state.For(m, r, bytes));
      if (redact && d.outcome == liaison::v1::OUTCOME_REDACT) {
        absl::StatusOr<liaison::v1::Message> derived = Redact(m, d, pseudonymiser, r);
        benchmark::DoNotOptimize(derived);
        ++redacted;
      }
      benchmark::DoNotOptimize(d);
    }
  }
  const double decisions = static_cast<double>(bench.iterations()) * recipients.size();
  bench.counters["per_recipient"] =
      benchmark::Counter(decisions, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  bench.counters["allocs_per_recipient"] =
      static_cast<double>(g_allocations.load() - allocations_before) / decisions;
  bench.counters["redacted_share"] = static_cast<double>(redacted) / decisions;
}

void BM_TypicalAlertPerRecipientDecision(benchmark::State& bench) {
  Run(bench, scenario::TypicalAlert(), /*redact=*/false);
}
BENCHMARK(BM_TypicalAlertPerRecipientDecision);

void BM_AlertWithVictimDecisionOnly(benchmark::State& bench) {
  Run(bench, scenario::TypicalAlertWithVictim(), /*redact=*/false);
}
BENCHMARK(BM_AlertWithVictimDecisionOnly);

void BM_AlertWithVictimDecisionAndRedact(benchmark::State& bench) {
  Run(bench, scenario::TypicalAlertWithVictim(), /*redact=*/true);
}
BENCHMARK(BM_AlertWithVictimDecisionAndRedact);

void BM_MissingChildAlertPerRecipientDecision(benchmark::State& bench) {
  Run(bench, scenario::Ac01MissingChildAlert(), /*redact=*/false);
}
BENCHMARK(BM_MissingChildAlertPerRecipientDecision);

// What the benchmarked decisions are, so the figures mean something.
void PrintOutcomes() {
  const State state;
  for (const auto& [name, m] :
       {std::pair<const char*, liaison::v1::Message>{"typical alert", scenario::TypicalAlert()},
        {"alert with victim", scenario::TypicalAlertWithVictim()}}) {
    std::printf("%s:", name);
    for (const std::string& r : scenario::BenchRecipients()) {
      const Decision d = scenario::DevChain()->Evaluate(state.For(m, r, m.ByteSizeLong()));
      std::printf(" %s=%s", r.c_str(), liaison::v1::Outcome_Name(d.outcome).c_str());
    }
    std::printf("\n");
  }
}

}  // namespace
}  // namespace liaison::policy

int main(int argc, char** argv) {
  liaison::policy::PrintOutcomes();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
