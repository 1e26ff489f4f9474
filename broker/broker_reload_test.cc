// A whole node's reloads: ReloadRegistry and ReloadCrl from many threads,
// SIGHUP-style requests and file changes at once all load on the node's one
// config watcher thread, in file order, ending with the last file written.
// (Before the config watcher, each caller loaded on its own thread while
// the file watcher did too, writing the files' "last loaded" times without
// a lock.)
#include <cstdio>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/mutex.h"
#include "base/log.h"
#include "base/testing/status_matchers.h"
#include "broker/broker.h"
#include "certs/testing/test_pki.h"
#include "gtest/gtest.h"
#include "tests/fixtures/test_broker.h"
#include "tests/fixtures/wait.h"

namespace liaison::broker {
namespace {

using ::liaison::testing::MakeTempDir;
using ::liaison::testing::ReadFileOrDie;
using ::liaison::testing::SourcePath;
using ::liaison::testing::TestBroker;
using ::liaison::testing::TestBrokerOptions;
using ::liaison::testing::WaitFor;

void Replace(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".new";
  std::ofstream(tmp) << text;
  ASSERT_EQ(std::rename(tmp.c_str(), path.c_str()), 0);
}

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
