// Keeps the registry and the CRL in force current, on one thread. The
// watcher re-reads a file when it changed (its modification time, size or
// inode, checked every refresh interval) and when asked: RequestReload
// (SIGHUP) and Reload (Broker::ReloadRegistry / ReloadCrl). Every load after
// Start runs on the watcher's thread, one at a time, so the loaders and what
// is remembered about each file need no lock of their own, and loads happen
// in file order: a load always reads the file as it was at or after the
// previous load's read, so an older file never replaces a newer one.
//
//   ConfigWatcher watcher({.registry = {path, absl::Seconds(5), load_registry},
//                          .crl = {crl_path, absl::Seconds(10), load_crl}});
//   RETURN_IF_ERROR(watcher.LoadBeforeStart(ConfigFile::kCrl));  // start-up
//   watcher.Start();
//   watcher.RequestReload();  // from the SIGHUP loop: returns at once
//
// Thread-safe. The destructor stops and joins the thread.
#ifndef LIAISON_BROKER_CONFIG_WATCHER_H_
#define LIAISON_BROKER_CONFIG_WATCHER_H_

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace liaison::broker {

enum class ConfigFile { kRegistry = 0, kCrl = 1 };

struct WatchedFile {
  std::string path;
  // How often the file is checked for a change; zero = only on request.
  absl::Duration refresh = absl::ZeroDuration();
  // Reads the file and puts it in force; on error what is in force stays.
  std::function<absl::Status()> load;
};

struct ConfigWatcherOptions {
  WatchedFile registry;
  WatchedFile crl;
};

class ConfigWatcher {
 public:
  explicit ConfigWatcher(ConfigWatcherOptions options);
  ~ConfigWatcher();  // Stop()

  // Loads `file` on the calling thread; only before Start (start-up, when
  // nothing else runs). The error is the loader's.
  absl::Status LoadBeforeStart(ConfigFile file) ABSL_LOCKS_EXCLUDED(mu_);
  // Starts the thread. Call once.
  void Start() ABSL_LOCKS_EXCLUDED(mu_);

  // Asks the thread to re-read both files (registry first) and log the
  // result as `broker.reload`; returns at once. SIGHUP.
  void RequestReload() ABSL_LOCKS_EXCLUDED(mu_);
  // Has the thread re-read `file` (a read that starts after this call) and
  // returns its result. Several callers at once share one read.
  // FailedPrecondition when the watcher is not running.
  absl::Status Reload(ConfigFile file) ABSL_LOCKS_EXCLUDED(mu_);

  // Ends the thread after the load in progress, if any. Pending Reload
  // calls return FailedPrecondition. Idempotent.
  void Stop() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  // What identifies one version of a file (a rename-replace changes the
  // inode even within one tick of the file system's clock).
  struct Stamp {
    absl::Time modified = absl::InfinitePast();
    int64_t size = -1;
    uint64_t inode = 0;
    bool operator==(const Stamp&) const = default;
  };
  // Owned by the watcher's thread (before Start: by the starting thread).
  struct Watched {
    WatchedFile file;
    Stamp loaded;  // the file as it was when last read
  };
  struct Requests {
    uint64_t wanted = 0;  // Reload calls so far
    uint64_t done = 0;    // of those, answered
    absl::Status result;  // of the last load that answered
  };
  static Stamp StampOf(const std::string& path);
  // Loads `w`, remembering the file's stamp as taken before the read (a
  // change during the load is seen at the next check).
  static absl::Status Load(Watched& w);
  void Loop() ABSL_LOCKS_EXCLUDED(mu_);

  std::array<Watched, 2> files_;
  absl::Mutex mu_;
  std::array<Requests, 2> requests_ ABSL_GUARDED_BY(mu_);
  bool running_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  // RequestReload calls not yet served.
  bool reload_all_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace liaison::broker

#endif  // LIAISON_BROKER_CONFIG_WATCHER_H_
