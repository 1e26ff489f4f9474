#include "broker/config_watcher.h"

#include <sys/stat.h>

#include <algorithm>
#include <utility>

#include "absl/time/clock.h"
#include "base/log.h"

namespace liaison::broker {
namespace {

size_t Index(ConfigFile file) { return static_cast<size_t>(file); }

std::string StatusText(const absl::Status& s) { return s.ok() ? "ok" : s.ToString(); }

}  // namespace

ConfigWatcher::ConfigWatcher(ConfigWatcherOptions options) {
  files_[Index(ConfigFile::kRegistry)].file = std::move(options.registry);
  files_[Index(ConfigFile::kCrl)].file = std::move(options.crl);
}

ConfigWatcher::~ConfigWatcher() { Stop(); }

ConfigWatcher::Stamp ConfigWatcher::StampOf(const std::string& path) {
  struct stat st;
  if (path.empty() || ::stat(path.c_str(), &st) != 0) return Stamp{};
  return Stamp{absl::TimeFromTimespec(st.st_mtim), static_cast<int64_t>(st.st_size),
               static_cast<uint64_t>(st.st_ino)};
}

absl::Status ConfigWatcher::Load(Watched& w) {
  w.loaded = StampOf(w.file.path);
  return w.file.load();
}

absl::Status ConfigWatcher::LoadBeforeStart(ConfigFile file) {
  {
    absl::MutexLock lock(&mu_);
    if (running_) {
      return absl::FailedPreconditionError("config watcher: LoadBeforeStart after Start");
    }
  }
  return Load(files_[Index(file)]);
}

void ConfigWatcher::Start() {
  absl::MutexLock lock(&mu_);
  if (running_ || stop_) return;
  running_ = true;
  thread_ = std::thread([this] { Loop(); });
}

void ConfigWatcher::RequestReload() {
  absl::MutexLock lock(&mu_);
  reload_all_ = true;
}

absl::Status ConfigWatcher::Reload(ConfigFile file) {
  absl::MutexLock lock(&mu_);
  if (!running_ || stop_) {
    return absl::FailedPreconditionError("config watcher is not running (broker stopped?)");
  }
  Requests& r = requests_[Index(file)];
  const uint64_t ticket = ++r.wanted;
  auto answered_or_stopped = [this, &r, ticket]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stop_ || r.done >= ticket;
  };
  mu_.Await(absl::Condition(&answered_or_stopped));
  if (r.done < ticket) return absl::FailedPreconditionError("config watcher stopped");
  return r.result;
}

void ConfigWatcher::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void ConfigWatcher::Loop() {
  // One check interval for both files, the shorter of their refreshes (an
  // hour when one of them is never checked).
  absl::Duration every = absl::InfiniteDuration();
  for (const Watched& w : files_) {
    every =
        std::min(every, w.file.refresh > absl::ZeroDuration() ? w.file.refresh : absl::Hours(1));
  }
  absl::Time next_check = absl::Now() + every;
  while (true) {
    bool reload_all = false;
    std::array<uint64_t, 2> serve{};  // tickets a load now answers
    {
      absl::MutexLock lock(&mu_);
      auto work = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stop_ || reload_all_ || requests_[0].wanted > requests_[0].done ||
               requests_[1].wanted > requests_[1].done;
      };
      mu_.AwaitWithDeadline(absl::Condition(&work), next_check);
      if (stop_) break;
      reload_all = std::exchange(reload_all_, false);
      for (size_t i = 0; i < files_.size(); ++i) {
        if (requests_[i].wanted > requests_[i].done) serve[i] = requests_[i].wanted;
      }
    }
    const bool check = absl::Now() >= next_check;
    if (check) next_check = absl::Now() + every;

    std::array<absl::Status, 2> results;
    for (ConfigFile f : {ConfigFile::kRegistry, ConfigFile::kCrl}) {
      const size_t i = Index(f);
      Watched& w = files_[i];
      const bool changed =
          check && w.file.refresh > absl::ZeroDuration() && !(StampOf(w.file.path) == w.loaded);
      if (!reload_all && serve[i] == 0 && !changed) continue;
      results[i] = Load(w);
      if (changed && !results[i].ok()) {
        // What is in force stays; the error names file, line and field.
        log::Error(f == ConfigFile::kRegistry ? "broker.registry_reload_failed"
                                              : "broker.crl_reload_failed",
                   {{"error", results[i].ToString()}});
      }
    }
    if (reload_all) {
      log::Info("broker.reload", {{"registry", StatusText(results[Index(ConfigFile::kRegistry)])},
                                  {"crl", StatusText(results[Index(ConfigFile::kCrl)])}});
    }
    absl::MutexLock lock(&mu_);
    for (size_t i = 0; i < files_.size(); ++i) {
      if (serve[i] == 0) continue;
      requests_[i].done = serve[i];
      requests_[i].result = results[i];
    }
  }
}

}  // namespace liaison::broker
