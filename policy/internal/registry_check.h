// Semantic validation of a liaison.v1.Registry. Problems carry the path of
// the offending field as (field name, index) pairs (index -1 for singular
// fields), so that Registry::Parse can turn them into line numbers.
#ifndef LIAISON_POLICY_INTERNAL_REGISTRY_CHECK_H_
#define LIAISON_POLICY_INTERNAL_REGISTRY_CHECK_H_

#include <string>
#include <utility>
#include <vector>

#include "liaison/v1/registry.pb.h"

namespace liaison::policy::internal {

struct RegistryProblem {
  std::vector<std::pair<std::string, int>> path;
  std::string message;
};

// "endpoints[3].country".
std::string PathText(const RegistryProblem& p);

// Every problem found, in file order of the top-level sections.
std::vector<RegistryProblem> CheckRegistry(const liaison::v1::Registry& r);

}  // namespace liaison::policy::internal

#endif  // LIAISON_POLICY_INTERNAL_REGISTRY_CHECK_H_
