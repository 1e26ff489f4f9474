// Fuzz target: policy::Registry::Parse on arbitrary registry text. Parse
// either returns a validated snapshot or InvalidArgument; it must never
// crash, and a snapshot it accepted must survive its own round trip.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <string_view>

#include "google/protobuf/text_format.h"
#include "liaison/v1/registry.pb.h"
#include "policy/registry.h"
#include "tests/fuzz/proto_mutator.h"
#include "tests/fuzz/quiet_protobuf.h"

// Text that parses as a Registry is mutated through reflection
// (proto_mutator.h, the registry's own strings as the pool) and printed
// again, so that validation and the indexes see well-formed registries with
// one thing changed; other text gets libFuzzer's byte mutation.
extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size,
                                          unsigned int seed) {
  std::minstd_rand rng(seed);
  liaison::v1::Registry registry;
  if (rng() % 4 == 0 || !google::protobuf::TextFormat::ParseFromString(
                            std::string(reinterpret_cast<const char*>(data), size), &registry)) {
    return LLVMFuzzerMutate(data, size, max_size);
  }
  std::vector<std::string> pool;
  liaison::fuzz::CollectStrings(registry, pool);
  const int rounds = 1 + static_cast<int>(rng() % 3);
  for (int i = 0; i < rounds; ++i) liaison::fuzz::MutateOnce(registry, pool, rng);
  std::string text;
  if (!google::protobuf::TextFormat::PrintToString(registry, &text) || text.size() > max_size) {
    return LLVMFuzzerMutate(data, size, max_size);
  }
  std::memcpy(data, text.data(), text.size());
  return text.size();
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  liaison::fuzz::QuietProtobuf();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto registry = liaison::policy::Registry::Parse(text, "fuzz.textproto");
  if (!registry.ok()) {
    // Parse promises InvalidArgument for every bad input.
    if (registry.status().code() != absl::StatusCode::kInvalidArgument) std::abort();
    return 0;
  }
  // What validated once validates again from its own proto, with the same
  // version (the content hash is over the proto).
  auto again = liaison::policy::Registry::FromProto((*registry)->proto(), "fuzz");
  if (!again.ok() || (*again)->version() != (*registry)->version()) std::abort();
  // Exercise the indexes the rules use.
  for (const auto& e : (*registry)->proto().endpoints()) {
    if ((*registry)->FindEntry(e.id()) == nullptr) std::abort();
  }
  return 0;
}
