// Tests only: the development registry (deploy/registry/dev.textproto),
// parsed once per test binary.
#ifndef LIAISON_BROKER_FRONTDOOR_DEV_REGISTRY_FOR_TEST_H_
#define LIAISON_BROKER_FRONTDOOR_DEV_REGISTRY_FOR_TEST_H_

#include <memory>
#include <string>

#include "base/file.h"
#include "certs/testing/test_pki.h"
#include "gtest/gtest.h"
#include "policy/registry.h"

namespace liaison::broker {

inline std::shared_ptr<const policy::Registry> DevRegistryForTest() {
  static const auto* registry = [] {
    const std::string path = liaison::testing::SourcePath("deploy/registry/dev.textproto");
    absl::StatusOr<std::string> text = liaison::ReadFile(path);
    EXPECT_TRUE(text.ok()) << text.status();
    absl::StatusOr<std::shared_ptr<const policy::Registry>> r =
        policy::Registry::Parse(*text, path);
    EXPECT_TRUE(r.ok()) << r.status();
    return new std::shared_ptr<const policy::Registry>(*r);
  }();
  return *registry;
}

}  // namespace liaison::broker

#endif  // LIAISON_BROKER_FRONTDOOR_DEV_REGISTRY_FOR_TEST_H_
