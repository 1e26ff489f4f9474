// A small structure-aware mutator for protobuf inputs (libprotobuf-mutator
// is not packaged in Debian 12). A fuzz target whose input is a binary
// message defines LLVMFuzzerCustomMutator with MutateProto: it parses the
// input, changes one field through reflection (set, clear, copy or drop a
// repeated element, enum and number values, strings taken from a pool of
// values that mean something: endpoint ids, codes, ids seen in the message)
// and serializes again. Inputs that do not parse get libFuzzer's byte
// mutation, so the parser stays fuzzed too.
#ifndef LIAISON_TESTS_FUZZ_PROTO_MUTATOR_H_
#define LIAISON_TESTS_FUZZ_PROTO_MUTATOR_H_

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "google/protobuf/message.h"

// libFuzzer's own byte mutation (callable from a custom mutator).
extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

namespace liaison::fuzz {

// Adds every string value found in `source` (recursively) to `pool`.
void CollectStrings(const google::protobuf::Message& source, std::vector<std::string>& pool);

// Mutates `message` once. `pool` supplies string values.
void MutateOnce(google::protobuf::Message& message, const std::vector<std::string>& pool,
                std::minstd_rand& rng);

// The body of LLVMFuzzerCustomMutator for a target whose input is `prototype`'s
// type in binary; returns the new size (at most max_size).
size_t MutateProto(const google::protobuf::Message& prototype, const std::vector<std::string>& pool,
                   uint8_t* data, size_t size, size_t max_size, unsigned int seed);

}  // namespace liaison::fuzz

#endif  // LIAISON_TESTS_FUZZ_PROTO_MUTATOR_H_
