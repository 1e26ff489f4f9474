// The development bootstrap's key file: created with mode 0600 from the
// first instant whatever the umask, never written through a link, reused
// when present, refused when short.
#include "broker/dev_bootstrap.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "base/testing/status_matchers.h"
#include "certs/testing/test_pki.h"
#include "gtest/gtest.h"

namespace liaison::broker {
namespace {

using ::liaison::testing::IsError;
using ::liaison::testing::MakeTempDir;

// Sets the process umask for the scope of a test.
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t mask) : old_(::umask(mask)) {}
  ~ScopedUmask() { ::umask(old_); }

 private:
  mode_t old_;
};

mode_t ModeOf(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

TEST(PseudonymKey, IsCreatedWithMode0600EvenWithUmask000) {
  ScopedUmask open_umask(0);
  const std::string path = MakeTempDir("liaison-key") + "/pseudonym.key";
  absl::StatusOr<std::string> key = PseudonymSecret(path, /*create=*/true);
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(key->size(), 32u);
  EXPECT_EQ(ModeOf(path), 0600) << std::oct << ModeOf(path);
}

// A watcher stat()s the path in a tight loop while keys are created: it
// must never see the file with any group or other permission bit. (Creating
// with the default mode and chmod-ing afterwards leaves such a window.)
TEST(PseudonymKey, IsNeverGroupOrWorldReadableWhileBeingCreated) {
  ScopedUmask open_umask(0);
  const std::string dir = MakeTempDir("liaison-key");
  constexpr int kKeys = 300;
  std::atomic<int> current{-1};
  std::atomic<bool> done{false};
  std::atomic<int> observed{0};
  std::atomic<int> too_open{0};
  std::thread watcher([&] {
    while (!done.load()) {
      const int i = current.load();
      if (i < 0) continue;
      struct stat st;
      if (::stat(absl::StrCat(dir, "/k", i).c_str(), &st) == 0) {
        ++observed;
        if ((st.st_mode & 077) != 0) ++too_open;
      }
    }
  });
  for (int i = 0; i < kKeys; ++i) {
    current = i;
    ASSERT_TRUE(PseudonymSecret(absl::StrCat(dir, "/k", i), /*create=*/true).ok());
  }
  done = true;
  watcher.join();
  EXPECT_GT(observed.load(), 0);
  EXPECT_EQ(too_open.load(), 0) << "the key file was group- or world-accessible " << too_open.load()
                                << " times";
}

TEST(PseudonymKey, ADanglingLinkAtThePathIsNotWrittenThrough) {
  const std::string dir = MakeTempDir("liaison-key");
  const std::string target = dir + "/elsewhere";
  const std::string path = dir + "/pseudonym.key";
  std::filesystem::create_symlink(target, path);
  EXPECT_TRUE(IsError(PseudonymSecret(path, /*create=*/true), absl::StatusCode::kNotFound,
                      "pseudonym key: "));
  EXPECT_FALSE(std::filesystem::exists(target)) << "the key was written through the link";
}

TEST(PseudonymKey, AnExistingKeyIsReadAndKept) {
  const std::string path = MakeTempDir("liaison-key") + "/pseudonym.key";
  const std::string existing(20, 'k');
  std::ofstream(path) << existing;
  absl::StatusOr<std::string> key = PseudonymSecret(path, /*create=*/true);
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(*key, existing);
  // Created once, the same key is read back by the next start.
  const std::string fresh = MakeTempDir("liaison-key") + "/pseudonym.key";
  absl::StatusOr<std::string> first = PseudonymSecret(fresh, /*create=*/true);
  absl::StatusOr<std::string> second = PseudonymSecret(fresh, /*create=*/true);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(*first, *second);
}

TEST(PseudonymKey, ErrorsNameWhatIsWrong) {
  const std::string dir = MakeTempDir("liaison-key");
  EXPECT_TRUE(IsError(PseudonymSecret("", true), absl::StatusCode::kInvalidArgument,
                      "pseudonym_key_path: not set"));
  // Without `create` a missing key is an error, not a new secret.
  EXPECT_TRUE(IsError(PseudonymSecret(dir + "/missing", false), absl::StatusCode::kNotFound,
                      "pseudonym key: "));
  EXPECT_FALSE(std::filesystem::exists(dir + "/missing"));
  std::ofstream(dir + "/short") << "0123456789";
  EXPECT_TRUE(IsError(PseudonymSecret(dir + "/short", true), absl::StatusCode::kInvalidArgument,
                      "shorter than 16 bytes"));
  EXPECT_TRUE(IsError(PseudonymSecret(dir + "/no-such-dir/key", true),
                      absl::StatusCode::kFailedPrecondition, "cannot create"));
}

}  // namespace
}  // namespace liaison::broker
