// The project's one logging header: structured logs, one JSON object per line
// on stderr.
//
// Rule: logs carry metadata only — ids, endpoint ids, kinds, sizes, decisions,
// rule ids, offsets. Never names, identifiers, case references in clear, or
// payload bytes. Log an event name plus fields, not prose built from values.
//
//   log::Info("ingress.accepted", {{"message_id", id}, {"sender", sender},
//                                  {"bytes", size}});
#ifndef LIAISON_BASE_LOG_H_
#define LIAISON_BASE_LOG_H_

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <variant>

#include "absl/strings/string_view.h"

namespace liaison::log {

enum class Level { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

struct Field {
  Field(std::string_view k, std::string_view v) : key(k), value(std::string(v)) {}
  Field(std::string_view k, const std::string& v) : key(k), value(v) {}
  // Debian 12's Abseil has its own string_view (absl::Status::message()).
  Field(std::string_view k, absl::string_view v) : key(k), value(std::string(v)) {}
  Field(std::string_view k, const char* v) : key(k), value(std::string(v)) {}
  Field(std::string_view k, bool v) : key(k), value(v) {}
  Field(std::string_view k, int v) : key(k), value(static_cast<int64_t>(v)) {}
  Field(std::string_view k, long v) : key(k), value(static_cast<int64_t>(v)) {}
  Field(std::string_view k, long long v) : key(k), value(static_cast<int64_t>(v)) {}
  Field(std::string_view k, unsigned v) : key(k), value(static_cast<int64_t>(v)) {}
  Field(std::string_view k, unsigned long v) : key(k), value(static_cast<int64_t>(v)) {}
  Field(std::string_view k, unsigned long long v) : key(k), value(static_cast<int64_t>(v)) {}
  Field(std::string_view k, double v) : key(k), value(v) {}

  std::string_view key;
  std::variant<std::string, int64_t, double, bool> value;
};

void Write(Level level, std::string_view event, std::initializer_list<Field> fields);

inline void Debug(std::string_view event, std::initializer_list<Field> fields = {}) {
  Write(Level::kDebug, event, fields);
}
inline void Info(std::string_view event, std::initializer_list<Field> fields = {}) {
  Write(Level::kInfo, event, fields);
}
inline void Warning(std::string_view event, std::initializer_list<Field> fields = {}) {
  Write(Level::kWarning, event, fields);
}
inline void Error(std::string_view event, std::initializer_list<Field> fields = {}) {
  Write(Level::kError, event, fields);
}

// Lines below `level` are dropped. Default: kInfo (LIAISON_LOG_LEVEL=debug|info|warning|error).
void SetMinLevel(Level level);
bool Enabled(Level level);

// Replaces the sink (stderr by default); tests capture lines with it. The sink
// is called under a lock, one complete line (without newline) at a time.
using Sink = std::function<void(std::string_view line)>;
void SetSink(Sink sink);
void ResetSink();

}  // namespace liaison::log

#endif  // LIAISON_BASE_LOG_H_
