// deploy/registry/extend-jit.sh: an operator records a JIT's extension in a
// registry file; the result is a registry the broker accepts, with the new end
// and the extension, and a refused change leaves the file as it was.
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "certs/testing/test_pki.h"
#include "gtest/gtest.h"
#include "policy/registry.h"

namespace liaison::testing {
namespace {

std::string Read(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class ExtendJitScript : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("liaison-extend-jit");
    registry_ = dir_ + "/registry.textproto";
    std::ofstream(registry_) << Read(std::string(LIAISON_SOURCE_DIR) +
                                     "/deploy/registry/dev.textproto");
  }
  // The script's exit code.
  int Run(const std::string& args) {
    const std::string command = absl::StrCat(LIAISON_SOURCE_DIR, "/deploy/registry/extend-jit.sh ",
                                             registry_, " ", args, " >", dir_, "/out 2>&1");
    const int status = std::system(command.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  std::string dir_;
  std::string registry_;
};

TEST_F(ExtendJitScript, RecordsAnExtensionTheRegistryAccepts) {
  ASSERT_EQ(Run("JIT-2025-014 2027-06-01 'AMBER ROUTE extension 2'"), 0) << Read(dir_ + "/out");
  absl::StatusOr<std::shared_ptr<const policy::Registry>> registry =
      policy::Registry::Parse(Read(registry_), registry_);
  ASSERT_TRUE(registry.ok()) << registry.status();
  const liaison::v1::Jit* jit = (*registry)->FindJit("JIT-2025-014");
  ASSERT_NE(jit, nullptr);
  EXPECT_EQ(jit->end().seconds(), 1811808000);  // 2027-06-01
  ASSERT_EQ(jit->extensions_size(), 2);
  EXPECT_EQ(jit->extensions(1).previous_end().seconds(), 1780272000);  // 2026-06-01
  EXPECT_EQ(jit->extensions(1).reference(), "AMBER ROUTE extension 2");
  EXPECT_TRUE(policy::Registry::IsValidAt(*jit, absl::FromUnixSeconds(1796428800)));  // 2026-12-04
  EXPECT_NE((*registry)->version(), "dev-2026-05-04.1");                              // bumped
  // The other JIT is untouched.
  EXPECT_EQ((*registry)->FindJit("JIT-2026-003")->end().seconds(), 1811808000);
  EXPECT_EQ((*registry)->FindJit("JIT-2026-003")->extensions_size(), 0);
}

TEST_F(ExtendJitScript, RefusesAnEarlierEndOrAnUnknownJitAndLeavesTheFileAsItWas) {
  const std::string before = Read(registry_);
  EXPECT_EQ(Run("JIT-2025-014 2026-01-01 x"), 65);
  EXPECT_NE(Read(dir_ + "/out").find("must move the end later"), std::string::npos)
      << Read(dir_ + "/out");
  EXPECT_EQ(Run("JIT-2099-001 2028-01-01 x"), 65);
  EXPECT_NE(Read(dir_ + "/out").find("no JIT with id JIT-2099-001"), std::string::npos);
  EXPECT_EQ(Run("JIT-2025-014 not-a-date x"), 2);
  EXPECT_EQ(Read(registry_), before);
}

}  // namespace
}  // namespace liaison::testing
