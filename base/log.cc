#include "base/log.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace liaison::log {
namespace {

Level InitialLevel() {
  const char* env = std::getenv("LIAISON_LOG_LEVEL");
  if (env == nullptr) return Level::kInfo;
  if (std::strcmp(env, "debug") == 0) return Level::kDebug;
  if (std::strcmp(env, "warning") == 0) return Level::kWarning;
  if (std::strcmp(env, "error") == 0) return Level::kError;
  return Level::kInfo;
}

struct State {
  absl::Mutex mu;
  Sink sink ABSL_GUARDED_BY(mu);
};

State& GetState() {
  static State* state = new State();
  return *state;
}

std::atomic<int> min_level{static_cast<int>(InitialLevel())};

const char* LevelName(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarning:
      return "warning";
    case Level::kError:
      return "error";
  }
  return "info";
}

}  // namespace

bool Enabled(Level level) { return static_cast<int>(level) >= min_level.load(); }

void SetMinLevel(Level level) { min_level.store(static_cast<int>(level)); }

void Write(Level level, std::string_view event, std::initializer_list<Field> fields) {
  if (!Enabled(level)) return;
  nlohmann::ordered_json line;
  line["ts"] = absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", absl::Now(), absl::UTCTimeZone());
  line["level"] = LevelName(level);
  line["event"] = std::string(event);
  for (const Field& f : fields) {
    std::string key(f.key);
    std::visit([&](const auto& v) { line[key] = v; }, f.value);
  }
  // Replace invalid UTF-8 rather than throw: a log line must never crash us.
  std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  State& state = GetState();
  absl::MutexLock lock(&state.mu);
  if (state.sink) {
    state.sink(text);
  } else {
    text.push_back('\n');
    std::fwrite(text.data(), 1, text.size(), stderr);
  }
}

void SetSink(Sink sink) {
  State& state = GetState();
  absl::MutexLock lock(&state.mu);
  state.sink = std::move(sink);
}

void ResetSink() { SetSink(nullptr); }

}  // namespace liaison::log
