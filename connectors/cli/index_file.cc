#include "connectors/cli/index_file.h"

#include <algorithm>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/proto_time.h"
#include "connectors/cli/suggest.h"
#include "connectors/endpoint/linkage/blind.h"
#include "nlohmann/json.hpp"
#include "policy/linkage.h"

namespace liaison::cli {
namespace {

namespace lk = endpoint::linkage;

constexpr size_t kMaxReportedErrors = 50;

std::string* FieldOf(IndexRow& row, size_t index) {
  std::string* fields[] = {&row.case_handle,   &row.type,          &row.value,    &row.country,
                           &row.document_type, &row.date_of_birth, &row.language, &row.expires_at};
  return fields[index];
}

absl::Status Bad(absl::string_view source, int line, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(source, ":", line, ": ", what));
}

// The index of column `name` in IndexFields(), or an error naming the nearest.
constexpr size_t kCaseHandleField = 0;
constexpr size_t kExpiresAtField = 7;

absl::StatusOr<size_t> FieldIndex(const std::string& name, absl::string_view source, int line,
                                  absl::string_view where, IdentifierFileUse use) {
  const std::vector<std::string>& fields = IndexFields();
  const std::string lower = absl::AsciiStrToLower(name);
  for (size_t i = 0; i < fields.size(); ++i) {
    if (fields[i] != lower) continue;
    if (use == IdentifierFileUse::kQuery && (i == kCaseHandleField || i == kExpiresAtField)) {
      return Bad(source, line,
                 absl::StrCat(where, " '", name,
                              "': not part of a query (a query file names the identifiers to "
                              "search for: type, value and their country, document_type, "
                              "date_of_birth, language)"));
    }
    return i;
  }
  std::string why = absl::StrCat(where, " '", name, "': unknown");
  if (std::optional<std::string> near = Nearest(lower, fields)) {
    absl::StrAppend(&why, "; did you mean '", *near, "'?");
  } else {
    absl::StrAppend(&why, "; the fields are ", absl::StrJoin(fields, ", "));
  }
  return Bad(source, line, why);
}

// RFC 4180 records: each with the line it starts on.
struct Record {
  int line = 0;
  std::vector<std::string> fields;
};

absl::StatusOr<std::vector<Record>> SplitCsv(absl::string_view text, absl::string_view source) {
  std::vector<Record> records;
  size_t i = 0;
  int line = 1;
  if (absl::StartsWith(text, "\xEF\xBB\xBF")) i = 3;  // a UTF-8 byte order mark
  while (i < text.size()) {
    // Blank lines and comments between records.
    if (text[i] == '\n' || text[i] == '\r') {
      if (text[i] == '\n') ++line;
      ++i;
      continue;
    }
    if (text[i] == '#') {
      while (i < text.size() && text[i] != '\n') ++i;
      continue;
    }
    Record record;
    record.line = line;
    std::string field;
    bool done = false;
    while (!done) {
      if (i < text.size() && text[i] == '"') {
        const int quote_line = line;
        ++i;
        for (;;) {
          if (i >= text.size()) {
            return Bad(
                source, quote_line,
                absl::StrCat("field ", record.fields.size() + 1, ": a quote that is never closed"));
          }
          if (text[i] == '"') {
            if (i + 1 < text.size() && text[i + 1] == '"') {
              field += '"';
              i += 2;
              continue;
            }
            ++i;
            break;
          }
          if (text[i] == '\n') ++line;
          field += text[i++];
        }
        if (i < text.size() && text[i] != ',' && text[i] != '\n' && text[i] != '\r') {
          return Bad(source, line,
                     absl::StrCat("field ", record.fields.size() + 1,
                                  ": characters after a closing quote (write \"\" for a quote)"));
        }
      } else {
        while (i < text.size() && text[i] != ',' && text[i] != '\n' && text[i] != '\r') {
          field += text[i++];
        }
      }
      record.fields.push_back(std::string(absl::StripAsciiWhitespace(field)));
      field.clear();
      if (i < text.size() && text[i] == ',') {
        ++i;
        continue;
      }
      if (i < text.size() && text[i] == '\r') ++i;
      if (i < text.size() && text[i] == '\n') {
        ++i;
        ++line;
      }
      done = true;
    }
    records.push_back(std::move(record));
  }
  return records;
}

absl::StatusOr<std::vector<IndexRow>> ParseCsv(absl::string_view text, absl::string_view source,
                                               IdentifierFileUse use) {
  absl::StatusOr<std::vector<Record>> records = SplitCsv(text, source);
  if (!records.ok()) return records.status();
  const bool query = use == IdentifierFileUse::kQuery;
  if (records->empty()) {
    return Bad(
        source, 1,
        query ? "no header row (type,value,...)" : "no header row (case_handle,type,value,...)");
  }
  const Record& header = records->front();
  std::vector<size_t> columns;
  std::vector<bool> seen(IndexFields().size(), false);
  for (const std::string& name : header.fields) {
    absl::StatusOr<size_t> index = FieldIndex(name, source, header.line, "column", use);
    if (!index.ok()) return index.status();
    if (seen[*index]) {
      return Bad(source, header.line, absl::StrCat("column '", name, "': given twice"));
    }
    seen[*index] = true;
    columns.push_back(*index);
  }
  for (size_t required = query ? 1 : 0; required < 3; ++required) {
    if (!seen[required]) {
      return Bad(source, header.line,
                 absl::StrCat("column '", IndexFields()[required], "': missing (the header needs ",
                              query ? "type and value)" : "case_handle, type and value)"));
    }
  }
  std::vector<IndexRow> rows;
  for (size_t r = 1; r < records->size(); ++r) {
    const Record& record = (*records)[r];
    if (record.fields.size() != columns.size()) {
      return Bad(source, record.line,
                 absl::StrCat(record.fields.size(), " fields, the header has ", columns.size(),
                              " (quote a field that holds a comma)"));
    }
    if (rows.size() == kMaxIndexRows) {
      return Bad(source, record.line,
                 absl::StrCat("more than ", kMaxIndexRows, " rows; split the file"));
    }
    IndexRow& row = rows.emplace_back();
    row.line = record.line;
    for (size_t c = 0; c < columns.size(); ++c) *FieldOf(row, columns[c]) = record.fields[c];
  }
  return rows;
}

// The line each element of a top-level JSON array starts on (the text has
// parsed already).
std::vector<int> ElementLines(absl::string_view text) {
  std::vector<int> lines;
  int line = 1;
  int depth = 0;
  bool in_string = false;
  bool expect_element = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n') ++line;
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    if (depth == 1 && expect_element && c != ']') {
      lines.push_back(line);
      expect_element = false;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      ++depth;
      if (depth == 1) expect_element = true;
    } else if (c == ']' || c == '}') {
      --depth;
    } else if (c == ',' && depth == 1) {
      expect_element = true;
    }
  }
  return lines;
}

absl::StatusOr<std::vector<IndexRow>> ParseJsonRows(absl::string_view text,
                                                    absl::string_view source,
                                                    IdentifierFileUse use) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::parse_error& e) {
    // Line of the byte the parser stopped at.
    const size_t at = std::min(e.byte == 0 ? 0 : e.byte - 1, text.size());
    int line = 1;
    for (size_t i = 0; i < at; ++i) line += text[i] == '\n';
    std::string what = e.what();
    if (const size_t p = what.find("parse error"); p != std::string::npos) what = what.substr(p);
    return Bad(source, line, absl::StrCat("not valid JSON: ", what));
  }
  if (!doc.is_array()) return Bad(source, 1, "expected a JSON array of objects");
  const std::vector<int> lines = ElementLines(text);
  if (doc.size() > kMaxIndexRows) {
    return Bad(source, 1, absl::StrCat("more than ", kMaxIndexRows, " rows; split the file"));
  }
  std::vector<IndexRow> rows;
  for (size_t i = 0; i < doc.size(); ++i) {
    const int line = i < lines.size() ? lines[i] : 1;
    const nlohmann::json& object = doc[i];
    if (!object.is_object()) {
      return Bad(source, line, absl::StrCat("[", i, "]: expected an object"));
    }
    IndexRow& row = rows.emplace_back();
    row.line = line;
    for (const auto& [name, value] : object.items()) {
      absl::StatusOr<size_t> index = FieldIndex(name, source, line, "field", use);
      if (!index.ok()) return index.status();
      if (!value.is_string()) {
        return Bad(source, line, absl::StrCat(IndexFields()[*index], ": expected a string"));
      }
      *FieldOf(row, *index) = std::string(absl::StripAsciiWhitespace(value.get<std::string>()));
    }
  }
  return rows;
}

enum class Type { kPhone, kIban, kVin, kPlate, kDocument, kEmail, kNameDob };

const std::map<std::string, Type>& Types() {
  static const auto* types = new std::map<std::string, Type>{
      {"phone", Type::kPhone},     {"iban", Type::kIban},         {"vin", Type::kVin},
      {"plate", Type::kPlate},     {"document", Type::kDocument}, {"email", Type::kEmail},
      {"name_dob", Type::kNameDob}};
  return *types;
}

// The CSV column a normaliser's message is about ("document.issuing_country:
// ..." -> country), so the error names the column the user wrote.
std::string ColumnOf(absl::string_view message) {
  const absl::string_view field = message.substr(0, message.find(':'));
  if (absl::StrContains(field, "country")) return "country";
  if (field == "document.type") return "document_type";
  if (field == "date_of_birth") return "date_of_birth";
  if (field == "name_language") return "language";
  return "value";
}

absl::StatusOr<absl::Time> ParseExpiry(const std::string& text) {
  absl::Time t;
  std::string error;
  if (absl::ParseTime(absl::RFC3339_full, text, &t, &error)) return t;
  if (absl::ParseTime("%Y-%m-%d", text, absl::UTCTimeZone(), &t, &error)) return t;
  return absl::InvalidArgumentError(
      "expires_at: not an RFC 3339 time (2026-12-31T00:00:00Z) or a date (2026-12-31)");
}

// The canonical form of `row`, or an error "field: reason".
absl::StatusOr<lk::Canonical> Normalise(const IndexRow& row, const lk::Normalizer& n) {
  const std::string type = absl::AsciiStrToLower(row.type);
  const auto it = Types().find(type);
  if (type == "name" || type == "person_name") {
    // Names have little entropy and many spellings: only with a date of
    // birth are they searched or indexed (DP-LINK-01).
    return absl::InvalidArgumentError(
        "type: a name alone is never searched or indexed (DP-LINK-01); use name_dob with a "
        "date_of_birth column");
  }
  if (it == Types().end()) {
    std::vector<std::string> names;
    for (const auto& [name, t] : Types()) names.push_back(name);
    std::string why = row.type.empty() ? std::string("type: missing")
                                       : absl::StrCat("type: unknown '", row.type, "'");
    if (std::optional<std::string> near = Nearest(type, names)) {
      absl::StrAppend(&why, "; did you mean '", *near, "'?");
    } else {
      absl::StrAppend(&why, "; one of ", absl::StrJoin(names, ", "));
    }
    return absl::InvalidArgumentError(why);
  }
  const Type t = it->second;
  if (row.value.empty()) return absl::InvalidArgumentError("value: missing");
  struct Extra {
    const char* column;
    const std::string& text;
    bool used;
  };
  const Extra extras[] = {
      {"country", row.country, t == Type::kPlate || t == Type::kDocument},
      {"document_type", row.document_type, t == Type::kDocument},
      {"date_of_birth", row.date_of_birth, t == Type::kNameDob},
      {"language", row.language, t == Type::kNameDob},
  };
  for (const Extra& e : extras) {
    if (!e.used && !e.text.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(e.column, ": not used for type ", type, "; leave it empty"));
    }
    if (e.used && e.text.empty() && std::string(e.column) != "language") {
      return absl::InvalidArgumentError(absl::StrCat(e.column, ": required for type ", type));
    }
  }
  absl::StatusOr<lk::Canonical> c = absl::InternalError("unreachable");
  switch (t) {
    case Type::kPhone:
      c = n.Phone(row.value);
      break;
    case Type::kIban:
      c = n.Iban(row.value);
      break;
    case Type::kVin:
      c = n.Vin(row.value);
      break;
    case Type::kPlate:
      c = n.VehiclePlate(row.value, row.country);
      break;
    case Type::kDocument:
      c = n.TravelDocument(row.country, row.document_type, row.value);
      break;
    case Type::kEmail:
      c = n.Email(row.value);
      break;
    case Type::kNameDob:
      c = n.NameDob(row.value, row.date_of_birth, row.language);
      break;
  }
  if (!c.ok() && c.status().code() == absl::StatusCode::kInvalidArgument) {
    return absl::InvalidArgumentError(
        absl::StrCat(ColumnOf(c.status().message()), ": ", c.status().message()));
  }
  return c;
}

// When the entry of `row` expires (InfiniteFuture for a withdrawal), or
// "expires_at: ..." naming what is wrong.
absl::StatusOr<absl::Time> ExpiryOf(const IndexRow& row, const BlindOptions& options) {
  if (options.for_withdrawal) return absl::InfiniteFuture();
  absl::Time expires;
  if (!row.expires_at.empty()) {
    absl::StatusOr<absl::Time> t = ParseExpiry(row.expires_at);
    if (!t.ok()) return t.status();
    expires = *t;
  } else if (options.expires_in) {
    expires = options.now + *options.expires_in;
  } else {
    return absl::InvalidArgumentError(
        "expires_at: missing (give the column, or --expires-in DAYS for every row)");
  }
  if (expires <= options.now) return absl::InvalidArgumentError("expires_at: in the past");
  if (expires > options.now + kMaxIndexExpiry) {
    return absl::InvalidArgumentError(
        "expires_at: more than 180 days ahead (the linkage retention limit)");
  }
  return expires;
}

}  // namespace

const std::vector<std::string>& IndexFields() {
  static const auto* fields =
      new std::vector<std::string>{"case_handle",   "type",          "value",    "country",
                                   "document_type", "date_of_birth", "language", "expires_at"};
  return *fields;
}

absl::StatusOr<std::vector<IndexRow>> ParseIndexFile(absl::string_view text,
                                                     absl::string_view source,
                                                     IdentifierFileUse use) {
  const size_t first = text.find_first_not_of(" \t\r\n");
  absl::StatusOr<std::vector<IndexRow>> rows =
      first != absl::string_view::npos && text[first] == '[' ? ParseJsonRows(text, source, use)
                                                             : ParseCsv(text, source, use);
  if (rows.ok() && rows->empty()) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": no rows"));
  }
  return rows;
}

absl::Status CheckCaseHandle(absl::string_view handle) {
  if (handle.empty()) return absl::InvalidArgumentError("case_handle: missing");
  if (!policy::IsOwnerRef(handle)) {
    return absl::InvalidArgumentError(
        "case_handle: must be \"LNK-\" followed by 1 to 64 of A-Z a-z 0-9 -");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<BlindedRow>> BlindRows(const std::vector<IndexRow>& rows,
                                                  absl::string_view source,
                                                  const lk::Normalizer& normalizer,
                                                  const lk::LinkageKey& key,
                                                  const BlindOptions& options) {
  if (!options.expires_in && !options.for_withdrawal &&
      std::all_of(rows.begin(), rows.end(),
                  [](const IndexRow& r) { return r.expires_at.empty(); })) {
    return absl::InvalidArgumentError(
        absl::StrCat(source,
                     ": no expiry: give an expires_at column or --expires-in DAYS (1..180); "
                     "nothing was published"));
  }
  std::vector<BlindedRow> out;
  out.reserve(rows.size());
  std::vector<std::string> errors;
  size_t refused = 0;
  for (const IndexRow& row : rows) {
    auto refuse = [&](const absl::Status& s) {
      if (++refused <= kMaxReportedErrors) {
        errors.push_back(absl::StrCat(source, ":", row.line, ": ", s.message()));
      }
    };
    if (absl::Status s = CheckCaseHandle(row.case_handle); !s.ok()) {
      refuse(s);
      continue;
    }
    absl::StatusOr<lk::Canonical> canonical = Normalise(row, normalizer);
    if (!canonical.ok()) {
      if (canonical.status().code() != absl::StatusCode::kInvalidArgument) {
        return canonical.status();
      }
      refuse(canonical.status());
      continue;
    }
    absl::StatusOr<absl::Time> expires = ExpiryOf(row, options);
    if (!expires.ok()) {
      refuse(expires.status());
      continue;
    }
    if (refused > 0) continue;  // only errors matter from here on
    const lk::BlindedValue blinded = lk::Blind(key, *canonical);
    BlindedRow& b = out.emplace_back();
    b.line = row.line;
    b.entry.set_type(static_cast<liaison::v1::IdentifierType>(blinded.kind));
    b.entry.set_value(blinded.value_bytes());
    b.entry.set_case_handle(row.case_handle);
    if (!options.for_withdrawal) *b.entry.mutable_expires_at() = ToProto(*expires);
  }
  if (refused > 0) {
    std::string text = absl::StrJoin(errors, "\n");
    if (refused > errors.size()) {
      absl::StrAppend(&text, "\n... and ", refused - errors.size(), " more rows refused");
    }
    absl::StrAppend(&text, "\n", refused, " of ", rows.size(),
                    " rows refused; nothing was published");
    return absl::InvalidArgumentError(text);
  }
  return out;
}

absl::StatusOr<std::vector<QueryRow>> BlindQueryRows(const std::vector<IndexRow>& rows,
                                                     absl::string_view source,
                                                     const lk::Normalizer& normalizer,
                                                     const lk::LinkageKey& key) {
  if (rows.size() > kMaxQueryRows) {
    return absl::InvalidArgumentError(absl::StrCat(
        source, ": ", rows.size(), " identifiers; a linkage query carries at most ", kMaxQueryRows,
        " (DP-LINK-01): split them into several queries; nothing was "
        "sent"));
  }
  std::vector<QueryRow> out;
  std::vector<std::string> errors;
  // Blinded value -> the line that first named it.
  std::map<std::pair<int, std::string>, int> seen;
  for (const IndexRow& row : rows) {
    absl::StatusOr<lk::Canonical> canonical = Normalise(row, normalizer);
    if (!canonical.ok()) {
      if (canonical.status().code() != absl::StatusCode::kInvalidArgument) {
        return canonical.status();
      }
      errors.push_back(absl::StrCat(source, ":", row.line, ": ", canonical.status().message()));
      continue;
    }
    const lk::BlindedValue blinded = lk::Blind(key, *canonical);
    const int type = static_cast<int>(blinded.kind);
    auto [at, fresh] = seen.emplace(std::make_pair(type, blinded.value_bytes()), row.line);
    if (!fresh) {
      errors.push_back(absl::StrCat(source, ":", row.line, ": value: the same identifier as line ",
                                    at->second, " once normalised; give each identifier once"));
      continue;
    }
    QueryRow& q = out.emplace_back();
    q.line = row.line;
    q.type = absl::AsciiStrToLower(row.type);
    q.typed = row.value;
    for (const std::string* extra : {&row.country, &row.document_type, &row.date_of_birth}) {
      if (!extra->empty()) absl::StrAppend(&q.typed, " ", *extra);
    }
    q.identifier.set_type(static_cast<liaison::v1::IdentifierType>(type));
    q.identifier.set_scheme(key.scheme());
    q.identifier.set_value(blinded.value_bytes());
  }
  if (!errors.empty()) {
    const size_t refused = errors.size();
    return absl::InvalidArgumentError(absl::StrCat(absl::StrJoin(errors, "\n"), "\n", refused,
                                                   " of ", rows.size(),
                                                   " rows refused; nothing was sent"));
  }
  return out;
}

}  // namespace liaison::cli
