// The config watcher: every reload on one thread, one at a time, in file
// order; changed files picked up, requests answered, errors passed on.
#include "broker/config_watcher.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "base/file.h"
#include "base/log.h"
#include "base/testing/status_matchers.h"
#include "certs/testing/test_pki.h"
#include "gtest/gtest.h"
#include "tests/fixtures/wait.h"

namespace liaison::broker {
namespace {

using ::liaison::testing::IsError;
using ::liaison::testing::MakeTempDir;
using ::liaison::testing::WaitFor;

// Replaces the file in one step, as configuration management does.
void Replace(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".new";
  std::ofstream(tmp) << text;
  ASSERT_EQ(std::rename(tmp.c_str(), path.c_str()), 0);
}

// A loader that reads a number from its file and records how it was called.
class RecordingLoader {
 public:
  explicit RecordingLoader(std::string path) : path_(std::move(path)) {}

  absl::Status Load() {
    const int now_loading = ++loading_;
    int previous = max_concurrent_.load();
    while (now_loading > previous && !max_concurrent_.compare_exchange_weak(previous, now_loading)) {
    }
    absl::StatusOr<std::string> text = liaison::ReadFile(path_);
    int value = -1;
    if (text.ok() && !absl::SimpleAtoi(*text, &value)) value = -1;
    ::usleep(200);  // long enough for overlapping loads to show
    {
      absl::MutexLock lock(&mu_);
      threads_.insert(std::this_thread::get_id());
      if (value >= 0) values_.push_back(value);
    }
    --loading_;
    if (value < 0) return absl::InvalidArgumentError(absl::StrCat(path_, ": not a number"));
    return absl::OkStatus();
  }

  std::set<std::thread::id> threads() const {
    absl::MutexLock lock(&mu_);
    return threads_;
  }
  std::vector<int> values() const {
    absl::MutexLock lock(&mu_);
    return values_;
  }
  int last() const {
    absl::MutexLock lock(&mu_);
    return values_.empty() ? -1 : values_.back();
  }
  size_t loads() const {
    absl::MutexLock lock(&mu_);
    return values_.size();
  }
  int max_concurrent() const { return max_concurrent_.load(); }

 private:
  const std::string path_;
  std::atomic<int> loading_{0};
  std::atomic<int> max_concurrent_{0};
  mutable absl::Mutex mu_;
  std::set<std::thread::id> threads_ ABSL_GUARDED_BY(mu_);
  std::vector<int> values_ ABSL_GUARDED_BY(mu_);
};

struct Files {
  std::string registry;
  std::string crl;
};

Files TwoFiles() {
  const std::string dir = MakeTempDir("liaison-watch");
  Files f{dir + "/registry", dir + "/crl"};
  std::ofstream(f.registry) << "0";
  std::ofstream(f.crl) << "0";
  return f;
}

ConfigWatcherOptions Watch(const Files& f, RecordingLoader& registry, RecordingLoader& crl,
                           absl::Duration refresh) {
  ConfigWatcherOptions o;
  o.registry = {f.registry, refresh, [&registry] { return registry.Load(); }};
  o.crl = {f.crl, refresh, [&crl] { return crl.Load(); }};
  return o;
}

// Reload requests from many threads (the API and SIGHUP) and file changes
// at once: every load runs on the watcher's one thread, never two at a
// time, the values loaded never go back, and the last file written is the
// one in force.
TEST(ConfigWatcher, ReloadsUnderLoadRunOnOneThreadInFileOrder) {
  const Files f = TwoFiles();
  RecordingLoader registry(f.registry);
  RecordingLoader crl(f.crl);
  ConfigWatcher watcher(Watch(f, registry, crl, absl::Milliseconds(1)));
  LIAISON_ASSERT_OK(watcher.LoadBeforeStart(ConfigFile::kRegistry));
  LIAISON_ASSERT_OK(watcher.LoadBeforeStart(ConfigFile::kCrl));
  watcher.Start();

  constexpr int kVersions = 150;
  std::atomic<bool> writing{true};
  std::thread writer([&] {
    for (int v = 1; v <= kVersions; ++v) {
      Replace(f.registry, std::to_string(v));
      if (v % 3 == 0) Replace(f.crl, std::to_string(v));
      ::usleep(300);
    }
    writing = false;
  });
  std::vector<std::thread> callers;
  absl::Mutex mu;
  std::set<std::thread::id> caller_ids;
  for (int t = 0; t < 6; ++t) {
    callers.emplace_back([&, t] {
      {
        absl::MutexLock lock(&mu);
        caller_ids.insert(std::this_thread::get_id());
      }
      for (int i = 0; writing.load() || i < 20; ++i) {
        switch ((t + i) % 3) {
          case 0:
            EXPECT_TRUE(watcher.Reload(ConfigFile::kRegistry).ok());
            break;
          case 1:
            EXPECT_TRUE(watcher.Reload(ConfigFile::kCrl).ok());
            break;
          default:
            watcher.RequestReload();
        }
      }
    });
  }
  writer.join();
  for (std::thread& c : callers) c.join();
  LIAISON_ASSERT_OK(watcher.Reload(ConfigFile::kRegistry));
  LIAISON_ASSERT_OK(watcher.Reload(ConfigFile::kCrl));

  EXPECT_EQ(registry.last(), kVersions);
  EXPECT_EQ(crl.last(), kVersions);
  EXPECT_EQ(registry.max_concurrent(), 1);
  EXPECT_EQ(crl.max_concurrent(), 1);
  std::set<std::thread::id> loaders = registry.threads();
  for (std::thread::id id : crl.threads()) loaders.insert(id);
  // The start-up loads ran on this thread, every later one on the watcher's.
  loaders.erase(std::this_thread::get_id());
  EXPECT_EQ(loaders.size(), 1u);
  for (std::thread::id id : loaders) EXPECT_EQ(caller_ids.count(id), 0u);
  for (const RecordingLoader* l : {&registry, &crl}) {
    const std::vector<int> values = l->values();
    for (size_t i = 1; i < values.size(); ++i) {
      ASSERT_LE(values[i - 1], values[i]) << "an older file replaced a newer one at load " << i;
    }
  }
}

TEST(ConfigWatcher, AChangedFileIsReloadedWithoutARequest) {
  const Files f = TwoFiles();
  RecordingLoader registry(f.registry);
  RecordingLoader crl(f.crl);
  ConfigWatcher watcher(Watch(f, registry, crl, absl::Milliseconds(5)));
  LIAISON_ASSERT_OK(watcher.LoadBeforeStart(ConfigFile::kRegistry));
  LIAISON_ASSERT_OK(watcher.LoadBeforeStart(ConfigFile::kCrl));
  watcher.Start();
  // Unchanged files are not read again.
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(registry.loads(), 1u);
  EXPECT_EQ(crl.loads(), 1u);
  // Two replacements within one tick of the file system's clock are told
  // apart (the inode changes).
  Replace(f.crl, "7");
  Replace(f.crl, "8");
  EXPECT_TRUE(WaitFor([&] { return crl.last() == 8; }, absl::Seconds(10)));
  EXPECT_EQ(registry.loads(), 1u);
}

TEST(ConfigWatcher, AFileCheckedOnlyOnRequestIsNotPolled) {
  const Files f = TwoFiles();
  RecordingLoader registry(f.registry);
  RecordingLoader crl(f.crl);
  ConfigWatcher watcher(Watch(f, registry, crl, absl::ZeroDuration()));
  LIAISON_ASSERT_OK(watcher.LoadBeforeStart(ConfigFile::kRegistry));
  watcher.Start();
  Replace(f.registry, "3");
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(registry.last(), 0);
  LIAISON_ASSERT_OK(watcher.Reload(ConfigFile::kRegistry));
  EXPECT_EQ(registry.last(), 3);
}

TEST(ConfigWatcher, ReloadReturnsTheLoadersErrorAndABrokenChangeIsLogged) {
  const Files f = TwoFiles();
  RecordingLoader registry(f.registry);
  RecordingLoader crl(f.crl);
  absl::Mutex mu;
  std::vector<std::string> lines;
  log::SetSink([&](std::string_view line) {
    absl::MutexLock lock(&mu);
    lines.emplace_back(line);
  });
  ConfigWatcher watcher(Watch(f, registry, crl, absl::Milliseconds(5)));
  LIAISON_ASSERT_OK(watcher.LoadBeforeStart(ConfigFile::kRegistry));
  watcher.Start();
  Replace(f.registry, "broken");
  EXPECT_TRUE(IsError(watcher.Reload(ConfigFile::kRegistry), absl::StatusCode::kInvalidArgument,
                      "not a number"));
  Replace(f.registry, "broken again");  // noticed by the check, not requested
  EXPECT_TRUE(WaitFor(
      [&] {
        absl::MutexLock lock(&mu);
        for (const std::string& l : lines) {
          if (l.find("broker.registry_reload_failed") != std::string::npos &&
              l.find("not a number") != std::string::npos) {
            return true;
          }
        }
        return false;
      },
      absl::Seconds(10)));
  watcher.Stop();
  log::ResetSink();
}

TEST(ConfigWatcher, RequestReloadReadsBothFilesAndLogsTheOutcome) {
  const Files f = TwoFiles();
  RecordingLoader registry(f.registry);
  RecordingLoader crl(f.crl);
  absl::Mutex mu;
  std::string reload_line;
  log::SetSink([&](std::string_view line) {
    absl::MutexLock lock(&mu);
    if (line.find("\"broker.reload\"") != std::string_view::npos) reload_line = line;
  });
  ConfigWatcher watcher(Watch(f, registry, crl, absl::ZeroDuration()));
  watcher.Start();
  Replace(f.registry, "4");
  Replace(f.crl, "not a number");
  watcher.RequestReload();
  EXPECT_TRUE(WaitFor([&] {
    absl::MutexLock lock(&mu);
    return !reload_line.empty();
  }));
  watcher.Stop();
  log::ResetSink();
  EXPECT_EQ(registry.last(), 4);
  EXPECT_NE(reload_line.find("\"registry\":\"ok\""), std::string::npos) << reload_line;
  EXPECT_NE(reload_line.find("not a number"), std::string::npos) << reload_line;
}

TEST(ConfigWatcher, AStoppedWatcherRefusesReloadsAndLoadsBeforeStartOnlyBeforeStart) {
  const Files f = TwoFiles();
  RecordingLoader registry(f.registry);
  RecordingLoader crl(f.crl);
  ConfigWatcher watcher(Watch(f, registry, crl, absl::ZeroDuration()));
  EXPECT_TRUE(IsError(watcher.Reload(ConfigFile::kRegistry),
                      absl::StatusCode::kFailedPrecondition, "not running"));
  watcher.Start();
  EXPECT_TRUE(IsError(watcher.LoadBeforeStart(ConfigFile::kRegistry),
                      absl::StatusCode::kFailedPrecondition, "after Start"));
  watcher.Stop();
  watcher.Stop();  // idempotent
  EXPECT_TRUE(IsError(watcher.Reload(ConfigFile::kCrl), absl::StatusCode::kFailedPrecondition,
                      "not running"));
  EXPECT_EQ(registry.loads(), 0u);
}

}  // namespace
}  // namespace liaison::broker
