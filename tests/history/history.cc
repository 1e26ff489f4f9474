#include "tests/history/history.h"

#include <fstream>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"

namespace liaison::history {
namespace {

using nlohmann::json;

struct TypeName {
  EventType type;
  const char* name;
};
constexpr TypeName kTypeNames[] = {
    {EventType::kSubscribed, "subscribed"}, {EventType::kSent, "sent"},
    {EventType::kAccepted, "accepted"},     {EventType::kRejected, "rejected"},
    {EventType::kDelivered, "delivered"},   {EventType::kAcknowledged, "acknowledged"},
    {EventType::kReceipt, "receipt"},       {EventType::kNotice, "notice"},
    {EventType::kAudit, "audit"},
};

const std::set<std::string>& KnownFields() {
  static const std::set<std::string>* fields = new std::set<std::string>{
      "event",           "at",          "by",        "message_id", "sender",    "recipient",
      "recipients",      "item_id",     "duplicate", "code",       "error",     "content",
      "acknowledged_at", "notice_kind", "chain",     "seq",        "operation", "audit_event",
      "decision",        "rule_ids",    "broker_id"};
  return *fields;
}

// The fields each type must have (besides event, at, by).
std::vector<std::string> Required(EventType type) {
  switch (type) {
    case EventType::kSubscribed:
      return {};
    case EventType::kSent:
      return {"message_id", "sender", "recipients"};
    case EventType::kAccepted:
      return {"message_id", "sender"};
    case EventType::kRejected:
      return {"message_id", "sender", "code"};
    case EventType::kDelivered:
      return {"message_id", "recipient", "item_id", "content"};
    case EventType::kAcknowledged:
      return {"message_id", "recipient", "item_id"};
    case EventType::kReceipt:
      return {"message_id", "recipient", "acknowledged_at"};
    case EventType::kNotice:
      return {"message_id", "notice_kind"};
    case EventType::kAudit:
      return {"message_id", "chain", "seq", "operation", "audit_event"};
  }
  return {};
}

absl::StatusOr<absl::Time> ParseTime(const std::string& text) {
  absl::Time t;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, text, &t, &error)) {
    return absl::InvalidArgumentError(error);
  }
  return t;
}

}  // namespace

const char* EventTypeName(EventType type) {
  for (const TypeName& t : kTypeNames) {
    if (t.type == type) return t.name;
  }
  return "unknown";
}

absl::StatusOr<EventType> ParseEventType(const std::string& name) {
  std::vector<std::string> names;
  for (const TypeName& t : kTypeNames) {
    if (name == t.name) return t.type;
    names.push_back(t.name);
  }
  return absl::InvalidArgumentError(absl::StrCat("event '", name, "' unknown (expected one of ",
                                                 absl::StrJoin(names, ", "), ")"));
}

std::string HistoryTime(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", t, absl::UTCTimeZone());
}

std::string ToJsonLine(const Event& e) {
  json j = json::object();
  j["event"] = EventTypeName(e.type);
  j["at"] = HistoryTime(e.at);
  j["by"] = e.by;
  auto put = [&j](const char* key, const std::string& value) {
    if (!value.empty()) j[key] = value;
  };
  put("message_id", e.message_id);
  put("sender", e.sender);
  put("recipient", e.recipient);
  if (!e.recipients.empty()) j["recipients"] = e.recipients;
  put("item_id", e.item_id);
  if (e.type == EventType::kAccepted) j["duplicate"] = e.duplicate;
  put("code", e.code);
  put("error", e.error);
  if (e.type == EventType::kDelivered) {
    j["content"] = e.content == Content::kRedacted ? "redacted" : "original";
  }
  if (e.type == EventType::kReceipt) j["acknowledged_at"] = HistoryTime(e.acknowledged_at);
  put("notice_kind", e.notice_kind);
  if (e.type == EventType::kAudit) {
    j["chain"] = e.chain;
    j["seq"] = e.seq;
  }
  put("operation", e.operation);
  put("audit_event", e.audit_event);
  put("decision", e.decision);
  if (!e.rule_ids.empty()) j["rule_ids"] = e.rule_ids;
  put("broker_id", e.broker_id);
  return j.dump();
}

absl::StatusOr<Event> ParseEvent(const std::string& line, const std::string& source) {
  auto bad = [&source](const std::string& what) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": ", what));
  };
  json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return bad("not a JSON object");
  for (const auto& [key, value] : j.items()) {
    if (!KnownFields().contains(key)) return bad(absl::StrCat("field '", key, "' unknown"));
  }
  for (const char* key : {"event", "at", "by"}) {
    if (!j.contains(key)) return bad(absl::StrCat("field '", key, "' missing"));
  }
  if (!j["event"].is_string()) return bad("field 'event': expected a string");
  absl::StatusOr<EventType> type = ParseEventType(j["event"].get<std::string>());
  if (!type.ok()) return bad(std::string(type.status().message()));
  Event e;
  e.type = *type;
  e.source = source;
  const std::string name = EventTypeName(e.type);
  for (const std::string& key : Required(e.type)) {
    if (!j.contains(key)) return bad(absl::StrCat(name, ": field '", key, "' missing"));
  }
  absl::Status status;
  auto str = [&](const char* key, std::string& out) {
    if (!status.ok() || !j.contains(key)) return;
    if (!j[key].is_string() || j[key].get<std::string>().empty()) {
      status = bad(absl::StrCat(name, ": field '", key, "': expected a non-empty string"));
      return;
    }
    out = j[key].get<std::string>();
  };
  auto time = [&](const char* key, absl::Time& out) {
    std::string text;
    str(key, text);
    if (!status.ok() || text.empty()) return;
    absl::StatusOr<absl::Time> t = ParseTime(text);
    if (!t.ok()) {
      status = bad(absl::StrCat(name, ": field '", key, "': '", text, "' is not an RFC 3339 time (",
                                t.status().message(), ")"));
      return;
    }
    out = *t;
  };
  auto list = [&](const char* key, std::vector<std::string>& out) {
    if (!status.ok() || !j.contains(key)) return;
    const json& v = j[key];
    bool ok = v.is_array() && !v.empty();
    for (const json& x : v) ok = ok && x.is_string() && !x.get<std::string>().empty();
    if (!ok) {
      status = bad(absl::StrCat(name, ": field '", key, "': expected non-empty strings"));
      return;
    }
    for (const json& x : v) out.push_back(x.get<std::string>());
  };
  time("at", e.at);
  str("by", e.by);
  str("message_id", e.message_id);
  str("sender", e.sender);
  str("recipient", e.recipient);
  list("recipients", e.recipients);
  str("item_id", e.item_id);
  str("code", e.code);
  if (status.ok() && j.contains("error")) {
    if (!j["error"].is_string()) return bad(name + ": field 'error': expected a string");
    e.error = j["error"].get<std::string>();
  }
  if (status.ok() && j.contains("duplicate")) {
    if (!j["duplicate"].is_boolean()) return bad(name + ": field 'duplicate': expected true/false");
    e.duplicate = j["duplicate"].get<bool>();
  }
  std::string content;
  str("content", content);
  if (status.ok() && !content.empty()) {
    if (content == "original") {
      e.content = Content::kOriginal;
    } else if (content == "redacted") {
      e.content = Content::kRedacted;
    } else {
      return bad(
          absl::StrCat(name, ": field 'content': '", content, "' (expected original or redacted)"));
    }
  }
  time("acknowledged_at", e.acknowledged_at);
  str("notice_kind", e.notice_kind);
  if (status.ok() && j.contains("chain")) {
    if (!j["chain"].is_number_integer()) return bad(name + ": field 'chain': expected an integer");
    e.chain = j["chain"].get<int32_t>();
  }
  if (status.ok() && j.contains("seq")) {
    if (!j["seq"].is_number_unsigned()) {
      return bad(name + ": field 'seq': expected a non-negative integer");
    }
    e.seq = j["seq"].get<uint64_t>();
  }
  str("operation", e.operation);
  str("audit_event", e.audit_event);
  str("decision", e.decision);
  list("rule_ids", e.rule_ids);
  str("broker_id", e.broker_id);
  if (!status.ok()) return status;
  return e;
}

absl::StatusOr<std::vector<Event>> ReadHistory(const std::vector<std::string>& paths) {
  std::vector<Event> out;
  for (const std::string& path : paths) {
    std::ifstream in(path);
    if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot be read"));
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      absl::StatusOr<Event> e = ParseEvent(line, absl::StrCat(path, ":", n));
      if (!e.ok()) return e.status();
      out.push_back(*std::move(e));
    }
  }
  return out;
}

}  // namespace liaison::history
