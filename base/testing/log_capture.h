// Captures base/log.h lines while alive, for the tests of every layer
// (header only). The one log capture: kafka, broker and tests/ use it.
//
//   LogCapture logs;                       // optionally LogCapture(log::Level::kDebug)
//   ... code that logs ...
//   EXPECT_TRUE(logs.Has({"kafka.gap", "\"to\":7"}));
//   EXPECT_EQ(logs.With("state.unreadable_record").size(), 4u);
#ifndef LIAISON_BASE_TESTING_LOG_CAPTURE_H_
#define LIAISON_BASE_TESTING_LOG_CAPTURE_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "base/log.h"

namespace liaison::testing {

class LogCapture {
 public:
  // Captures from now on; with `min_level`, also lines below the level in
  // force (the level is set back to kInfo at the end).
  explicit LogCapture(std::optional<log::Level> min_level = std::nullopt)
      : restore_level_(min_level.has_value()) {
    if (min_level.has_value()) log::SetMinLevel(*min_level);
    log::SetSink([this](std::string_view line) {
      absl::MutexLock lock(&mu_);
      lines_.emplace_back(line);
    });
  }
  ~LogCapture() {
    log::ResetSink();
    if (restore_level_) log::SetMinLevel(log::Level::kInfo);
  }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  // Whether one line contains every one of `needles`.
  bool Has(const std::vector<std::string>& needles) const {
    absl::MutexLock lock(&mu_);
    return HasLocked(needles);
  }
  // Waits until a line contains every one of `needles`, or `timeout`.
  bool WaitFor(const std::vector<std::string>& needles, absl::Duration timeout) const {
    absl::MutexLock lock(&mu_);
    auto found = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return HasLocked(needles); };
    return mu_.AwaitWithTimeout(absl::Condition(&found), timeout);
  }
  // The lines that contain `needle` (an event name, for example).
  std::vector<std::string> With(absl::string_view needle) const {
    absl::MutexLock lock(&mu_);
    std::vector<std::string> out;
    for (const std::string& l : lines_) {
      if (absl::StrContains(l, needle)) out.push_back(l);
    }
    return out;
  }
  // Every line so far, one per line.
  std::string Text() const {
    absl::MutexLock lock(&mu_);
    return absl::StrJoin(lines_, "\n");
  }

 private:
  bool HasLocked(const std::vector<std::string>& needles) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (const std::string& line : lines_) {
      bool all = true;
      for (const std::string& n : needles) all = all && absl::StrContains(line, n);
      if (all) return true;
    }
    return false;
  }

  const bool restore_level_;
  mutable absl::Mutex mu_;
  std::vector<std::string> lines_ ABSL_GUARDED_BY(mu_);
};

}  // namespace liaison::testing

#endif  // LIAISON_BASE_TESTING_LOG_CAPTURE_H_
