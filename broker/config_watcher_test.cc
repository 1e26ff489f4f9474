// The config watcher: every reload on one thread, one at a time, in file
// order; changed files picked up, requests answered, errors passed on; and
// a whole node (Broker) reloading through it under load.
#include "broker/config_watcher.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/mutex.h"
#include "base/file.h"
#include "base/log.h"
#include "base/testing/status_matchers.h"
#include "broker/broker.h"
#include "certs/testing/test_pki.h"
#include "gtest/gtest.h"
#include "tests/fixtures/test_broker.h"
#include "tests/fixtures/wait.h"

namespace liaison::broker {
namespace {

using ::liaison::testing::IsError;
using ::liaison::testing::MakeTempDir;
using ::liaison::testing::ReadFileOrDie;
using ::liaison::testing::SourcePath;
using ::liaison::testing::TestBroker;
using ::liaison::testing::TestBrokerOptions;
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
    while (now_loading > previous &&
           !max_concurrent_.compare_exchange_weak(previous, now_loading)) {
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

// Two files holding "0", each with a recording loader.
struct TwoWatched {
  Files f = TwoFiles();
  RecordingLoader registry{f.registry};
  RecordingLoader crl{f.crl};

  std::unique_ptr<ConfigWatcher> Watcher(absl::Duration refresh) {
    ConfigWatcherOptions o;
    o.registry = {f.registry, refresh, [this] { return registry.Load(); }};
    o.crl = {f.crl, refresh, [this] { return crl.Load(); }};
    return std::make_unique<ConfigWatcher>(std::move(o));
  }
  // A watcher started after loading both files, as Broker::Start does.
  std::unique_ptr<ConfigWatcher> Started(absl::Duration refresh) {
    std::unique_ptr<ConfigWatcher> w = Watcher(refresh);
    EXPECT_TRUE(w->LoadBeforeStart(ConfigFile::kRegistry).ok());
    EXPECT_TRUE(w->LoadBeforeStart(ConfigFile::kCrl).ok());
    w->Start();
    return w;
  }
};

// Reload requests from many threads (the API and SIGHUP) and file changes
// at once: every load runs on the watcher's one thread, never two at a
// time, the values loaded never go back, and the last file written is the
// one in force.
TEST(ConfigWatcher, ReloadsUnderLoadRunOnOneThreadInFileOrder) {
  TwoWatched w;
  std::unique_ptr<ConfigWatcher> watcher = w.Started(absl::Milliseconds(1));

  constexpr int kVersions = 150;
  std::atomic<bool> writing{true};
  std::thread writer([&] {
    for (int v = 1; v <= kVersions; ++v) {
      Replace(w.f.registry, std::to_string(v));
      if (v % 3 == 0) Replace(w.f.crl, std::to_string(v));
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
            EXPECT_TRUE(watcher->Reload(ConfigFile::kRegistry).ok());
            break;
          case 1:
            EXPECT_TRUE(watcher->Reload(ConfigFile::kCrl).ok());
            break;
          default:
            watcher->RequestReload();
        }
      }
    });
  }
  writer.join();
  for (std::thread& c : callers) c.join();
  LIAISON_ASSERT_OK(watcher->Reload(ConfigFile::kRegistry));
  LIAISON_ASSERT_OK(watcher->Reload(ConfigFile::kCrl));

  EXPECT_EQ(w.registry.last(), kVersions);
  EXPECT_EQ(w.crl.last(), kVersions);
  EXPECT_EQ(w.registry.max_concurrent(), 1);
  EXPECT_EQ(w.crl.max_concurrent(), 1);
  std::set<std::thread::id> loaders = w.registry.threads();
  for (std::thread::id id : w.crl.threads()) loaders.insert(id);
  // The start-up loads ran on this thread, every later one on the watcher's.
  loaders.erase(std::this_thread::get_id());
  EXPECT_EQ(loaders.size(), 1u);
  for (std::thread::id id : loaders) EXPECT_EQ(caller_ids.count(id), 0u);
  for (const RecordingLoader* l : {&w.registry, &w.crl}) {
    const std::vector<int> values = l->values();
    for (size_t i = 1; i < values.size(); ++i) {
      ASSERT_LE(values[i - 1], values[i]) << "an older file replaced a newer one at load " << i;
    }
  }
}

TEST(ConfigWatcher, AChangedFileIsReloadedWithoutARequest) {
  TwoWatched w;
  std::unique_ptr<ConfigWatcher> watcher = w.Started(absl::Milliseconds(5));
  // Unchanged files are not read again.
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(w.registry.loads(), 1u);
  EXPECT_EQ(w.crl.loads(), 1u);
  // Two replacements within one tick of the file system's clock are told
  // apart (the inode changes).
  Replace(w.f.crl, "7");
  Replace(w.f.crl, "8");
  EXPECT_TRUE(WaitFor([&] { return w.crl.last() == 8; }, absl::Seconds(10)));
  EXPECT_EQ(w.registry.loads(), 1u);
}

TEST(ConfigWatcher, AFileCheckedOnlyOnRequestIsNotPolled) {
  TwoWatched w;
  std::unique_ptr<ConfigWatcher> watcher = w.Watcher(absl::ZeroDuration());
  LIAISON_ASSERT_OK(watcher->LoadBeforeStart(ConfigFile::kRegistry));
  watcher->Start();
  Replace(w.f.registry, "3");
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(w.registry.last(), 0);
  LIAISON_ASSERT_OK(watcher->Reload(ConfigFile::kRegistry));
  EXPECT_EQ(w.registry.last(), 3);
}

TEST(ConfigWatcher, ReloadReturnsTheLoadersErrorAndABrokenChangeIsLogged) {
  TwoWatched w;
  absl::Mutex mu;
  std::vector<std::string> lines;
  log::SetSink([&](std::string_view line) {
    absl::MutexLock lock(&mu);
    lines.emplace_back(line);
  });
  std::unique_ptr<ConfigWatcher> watcher = w.Watcher(absl::Milliseconds(5));
  LIAISON_ASSERT_OK(watcher->LoadBeforeStart(ConfigFile::kRegistry));
  watcher->Start();
  Replace(w.f.registry, "broken");
  EXPECT_TRUE(IsError(watcher->Reload(ConfigFile::kRegistry), absl::StatusCode::kInvalidArgument,
                      "not a number"));
  Replace(w.f.registry, "broken again");  // noticed by the check, not requested
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
  watcher->Stop();
  log::ResetSink();
}

TEST(ConfigWatcher, RequestReloadReadsBothFilesAndLogsTheOutcome) {
  TwoWatched w;
  absl::Mutex mu;
  std::string reload_line;
  log::SetSink([&](std::string_view line) {
    absl::MutexLock lock(&mu);
    if (line.find("\"broker.reload\"") != std::string_view::npos) reload_line = line;
  });
  std::unique_ptr<ConfigWatcher> watcher = w.Watcher(absl::ZeroDuration());
  watcher->Start();
  Replace(w.f.registry, "4");
  Replace(w.f.crl, "not a number");
  watcher->RequestReload();
  EXPECT_TRUE(WaitFor([&] {
    absl::MutexLock lock(&mu);
    return !reload_line.empty();
  }));
  watcher->Stop();
  log::ResetSink();
  EXPECT_EQ(w.registry.last(), 4);
  EXPECT_NE(reload_line.find("\"registry\":\"ok\""), std::string::npos) << reload_line;
  EXPECT_NE(reload_line.find("not a number"), std::string::npos) << reload_line;
}

TEST(ConfigWatcher, AStoppedWatcherRefusesReloadsAndLoadsBeforeStartOnlyBeforeStart) {
  TwoWatched w;
  std::unique_ptr<ConfigWatcher> watcher = w.Watcher(absl::ZeroDuration());
  EXPECT_TRUE(IsError(watcher->Reload(ConfigFile::kRegistry), absl::StatusCode::kFailedPrecondition,
                      "not running"));
  watcher->Start();
  EXPECT_TRUE(IsError(watcher->LoadBeforeStart(ConfigFile::kRegistry),
                      absl::StatusCode::kFailedPrecondition, "after Start"));
  watcher->Stop();
  watcher->Stop();  // idempotent
  EXPECT_TRUE(IsError(watcher->Reload(ConfigFile::kCrl), absl::StatusCode::kFailedPrecondition,
                      "not running"));
  EXPECT_EQ(w.registry.loads(), 0u);
}

// A whole node's reloads: ReloadRegistry and ReloadCrl from many threads,
// SIGHUP-style requests and file changes at once all load on the node's one
// config watcher thread, in file order, ending with the last file written.
// (Before the config watcher, each caller loaded on its own thread while
// the file watcher did too, writing the files' "last loaded" times without
// a lock.)
std::string RegistryVersion(const std::string& original, int n) {
  return absl::StrReplaceAll(original, {{"version: \"dev-2026-05-04.1\"",
                                         absl::StrCat("version: \"dev-2026-05-04.", n, "\"")}});
}

// The loads a node logged, with the thread that logged each.
class LoadLog {
 public:
  LoadLog() {
    log::SetSink([this](std::string_view line) {
      static const std::regex version(R"re("registry_version":"dev-2026-05-04\.(\d+)\+)re");
      const bool registry = line.find("\"broker.registry_loaded\"") != std::string_view::npos;
      const bool crl = line.find("\"broker.crl_loaded\"") != std::string_view::npos;
      if (!registry && !crl) return;
      absl::MutexLock lock(&mu_);
      threads_.insert(std::this_thread::get_id());
      std::cmatch m;
      if (registry && std::regex_search(line.data(), line.data() + line.size(), m, version)) {
        versions_.push_back(std::stoi(m[1].str()));
      }
    });
  }
  ~LoadLog() { log::ResetSink(); }
  void Clear() {
    absl::MutexLock lock(&mu_);
    threads_.clear();
    versions_.clear();
  }
  std::set<std::thread::id> threads() const {
    absl::MutexLock lock(&mu_);
    return threads_;
  }
  std::vector<int> versions() const {
    absl::MutexLock lock(&mu_);
    return versions_;
  }

 private:
  mutable absl::Mutex mu_;
  std::set<std::thread::id> threads_ ABSL_GUARDED_BY(mu_);
  std::vector<int> versions_ ABSL_GUARDED_BY(mu_);
};

TEST(BrokerReload, ConcurrentReloadsAndFileChangesLoadOnOneThreadEndingWithTheLastFile) {
  const std::string original = ReadFileOrDie(SourcePath("deploy/registry/dev.textproto"));
  const std::string path = MakeTempDir("liaison-registry") + "/registry.textproto";
  Replace(path, RegistryVersion(original, 1));
  LoadLog loads;
  TestBrokerOptions options;
  options.registry_path = path;
  options.admin_listen_address = "";
  options.http_listen_address = "";
  absl::StatusOr<std::unique_ptr<TestBroker>> broker = TestBroker::Start(options);
  ASSERT_TRUE(broker.ok()) << broker.status();
  Broker& node = (*broker)->node();
  loads.Clear();

  constexpr int kVersions = 40;
  std::atomic<bool> writing{true};
  std::thread writer([&] {
    for (int v = 2; v <= kVersions; ++v) {
      Replace(path, RegistryVersion(original, v));
      absl::SleepFor(absl::Milliseconds(2));
    }
    writing = false;
  });
  absl::Mutex mu;
  std::set<std::thread::id> callers = {std::this_thread::get_id()};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      {
        absl::MutexLock lock(&mu);
        callers.insert(std::this_thread::get_id());
      }
      for (int i = 0; writing.load() || i < 5; ++i) {
        if ((t + i) % 3 == 0) {
          EXPECT_TRUE(node.ReloadCrl().ok());
        } else if ((t + i) % 3 == 1) {
          EXPECT_TRUE(node.ReloadRegistry().ok());
        } else {
          node.RequestReload();  // what SIGHUP does
        }
      }
    });
  }
  writer.join();
  for (std::thread& t : threads) t.join();
  LIAISON_ASSERT_OK(node.ReloadRegistry());

  const std::set<std::thread::id> loaders = loads.threads();
  ASSERT_FALSE(loaders.empty());
  EXPECT_EQ(loaders.size(), 1u) << "registry and CRL loaded on " << loaders.size() << " threads";
  for (std::thread::id id : loaders) {
    EXPECT_EQ(callers.count(id), 0u) << "a load ran on the thread that asked for it";
  }
  const std::vector<int> versions = loads.versions();
  ASSERT_FALSE(versions.empty());
  EXPECT_EQ(versions.back(), kVersions);
  for (size_t i = 1; i < versions.size(); ++i) {
    ASSERT_LE(versions[i - 1], versions[i]) << "an older registry replaced a newer one";
  }
}

}  // namespace
}  // namespace liaison::broker
