#include "connectors/audit/export_file.h"

#include <fstream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace liaison::audit {
namespace {

constexpr char kFormat[] = "liaison-audit-export";
constexpr int kVersion = 1;
constexpr char kTimeFormat[] = "%Y-%m-%dT%H:%M:%E3SZ";

}  // namespace

absl::Status WriteExport(const std::string& topic, const std::vector<kafka::Record>& records,
                         std::ostream& out) {
  nlohmann::ordered_json header;
  header["format"] = kFormat;
  header["version"] = kVersion;
  header["topic"] = topic;
  out << header.dump() << "\n";
  for (const kafka::Record& r : records) {
    nlohmann::ordered_json line;
    line["partition"] = r.partition;
    line["offset"] = r.offset;
    line["timestamp"] = absl::FormatTime(kTimeFormat, r.timestamp, absl::UTCTimeZone());
    line["value"] = absl::Base64Escape(r.value);
    out << line.dump() << "\n";
  }
  out.flush();
  if (!out) return absl::FailedPreconditionError("the audit export could not be written");
  return absl::OkStatus();
}

absl::StatusOr<std::vector<kafka::Record>> ReadExport(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot be read"));
  std::vector<kafka::Record> out;
  std::string text;
  std::string topic;
  int line_no = 0;
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(path, ":", line_no, ": ", why));
  };
  while (std::getline(in, text)) {
    ++line_no;
    if (text.empty()) continue;
    const nlohmann::json line = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (line.is_discarded() || !line.is_object()) return bad("not a JSON object");
    if (line_no == 1) {
      if (line.value("format", "") != kFormat) {
        return bad(absl::StrCat("not an audit export (expected a header with format \"", kFormat,
                                "\"; write one with `liaison audit export`)"));
      }
      if (line.value("version", 0) != kVersion) {
        return bad(absl::StrCat("export version ", line.value("version", 0),
                                " (this liaison reads version ", kVersion, ")"));
      }
      topic = line.value("topic", "");
      continue;
    }
    kafka::Record r;
    r.topic = topic;
    if (!line.contains("partition") || !line["partition"].is_number_integer())
      return bad("partition: missing or not an integer");
    if (!line.contains("offset") || !line["offset"].is_number_integer())
      return bad("offset: missing or not an integer");
    if (!line.contains("value") || !line["value"].is_string())
      return bad("value: missing or not a string");
    r.partition = line["partition"].get<int32_t>();
    r.offset = line["offset"].get<int64_t>();
    if (!absl::Base64Unescape(line["value"].get<std::string>(), &r.value))
      return bad("value: not base64");
    std::string error;
    if (!line.contains("timestamp") || !line["timestamp"].is_string() ||
        !absl::ParseTime(kTimeFormat, line["timestamp"].get<std::string>(), &r.timestamp, &error)) {
      return bad("timestamp: missing or not YYYY-MM-DDTHH:MM:SS.mmmZ");
    }
    if (!out.empty() && (r.partition < out.back().partition ||
                         (r.partition == out.back().partition && r.offset <= out.back().offset))) {
      return bad(absl::StrCat("partition ", r.partition, " offset ", r.offset, " after partition ",
                              out.back().partition, " offset ", out.back().offset,
                              ": records out of order"));
    }
    out.push_back(std::move(r));
  }
  if (line_no == 0) return absl::InvalidArgumentError(absl::StrCat(path, ": empty"));
  return out;
}

}  // namespace liaison::audit
