// The input of `liaison index publish`: a file of cleartext case-linkage
// identifiers with their case handles, as CSV (a header row, then one
// identifier per row) or JSON (an array of objects with the same fields),
// turned into blinded index entries on the endpoint. Nothing here sends;
// the cleartext stays in this process.
//
// Fields (docs/cli.md has the table and an example):
//   case_handle    "LNK-" + 1..64 of A-Z a-z 0-9 -         every row
//   type           phone iban vin plate document email name_dob
//   value          the identifier (name_dob: the name)
//   country        plate: the registering country; document: the issuing
//                  state (ISO 3166-1 alpha-2 or ICAO alpha-3)
//   document_type  document: P passport, I (or A, C) identity card, V visa
//   date_of_birth  name_dob: YYYY-MM-DD
//   language       name_dob, optional: ISO 639-1 language of the name
//   expires_at     optional: RFC 3339 or YYYY-MM-DD (UTC midnight); else
//                  --expires-in
//
// Errors are "FILE:LINE: field: reason", LINE being the file line the row
// (CSV) or object (JSON) starts on. They name the field, never its value.
#ifndef LIAISON_CONNECTORS_CLI_INDEX_FILE_H_
#define LIAISON_CONNECTORS_CLI_INDEX_FILE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "connectors/endpoint/linkage/linkage_key.h"
#include "connectors/endpoint/linkage/normalize.h"
#include "liaison/v1/linkage.pb.h"

namespace liaison::cli {

// The longest an entry may stay in the index after publishing: the
// registry's linkage retention, which the broker enforces too.
inline constexpr absl::Duration kMaxIndexExpiry = absl::Hours(24 * 180);

// The most rows one file may hold (a file of the whole index of an endpoint
// is published in several runs).
inline constexpr size_t kMaxIndexRows = 5'000'000;

// The most identifiers of one linkage query (DP-LINK-01).
inline constexpr size_t kMaxQueryRows = 20;

// One row as read, cleartext. Unset optional columns are empty.
struct IndexRow {
  int line = 0;  // 1-based line of the file where the row starts
  std::string case_handle;
  std::string type;
  std::string value;
  std::string country;
  std::string document_type;
  std::string date_of_birth;
  std::string language;
  std::string expires_at;
};

// The field names above, in that order.
const std::vector<std::string>& IndexFields();

// What a file of identifiers is read for.
enum class IdentifierFileUse {
  // `index publish`, `index withdraw --entries`: case_handle required.
  kIndex,
  // `link query`: the identifiers to search for; no case_handle and no
  // expires_at (the file is a question, not a publication).
  kQuery,
};

// Reads CSV or JSON (JSON when the first non-blank character is '['; CSV
// otherwise). CSV: RFC 4180 (commas, "quoted" fields with "" for a quote
// and line breaks), a header row naming the columns in any order and case,
// blank lines and lines starting with '#' ignored. Refused (InvalidArgument,
// "SOURCE:LINE: ..."): an unknown or repeated column (with the nearest
// name), a missing case_handle, type or value column, a row with more or
// fewer fields than the header, an unterminated quote, JSON that does not
// parse, an element that is not an object, a field that is unknown or not a
// string, no rows, more than kMaxIndexRows. For kQuery the case_handle and
// expires_at columns (fields) are refused and only type and value required.
absl::StatusOr<std::vector<IndexRow>> ParseIndexFile(
    absl::string_view text, absl::string_view source,
    IdentifierFileUse use = IdentifierFileUse::kIndex);

struct BlindOptions {
  absl::Time now;
  // Expiry of rows without expires_at; nullopt: such a row is refused.
  std::optional<absl::Duration> expires_in;
  // The rows name entries to withdraw: expires_at is neither required nor
  // checked, and the entries carry none.
  bool for_withdrawal = false;
};

// One blinded entry and the line it came from.
struct BlindedRow {
  int line = 0;
  liaison::v1::IndexEntry entry;
};

// Checks, normalises and blinds every row under `key`. All rows are checked:
// if any is refused, the result is InvalidArgument listing each refused row
// as "SOURCE:LINE: field: reason" (one a line, at most 50, then how many
// more) and nothing is returned.
absl::StatusOr<std::vector<BlindedRow>> BlindRows(const std::vector<IndexRow>& rows,
                                                  absl::string_view source,
                                                  const endpoint::linkage::Normalizer& normalizer,
                                                  const endpoint::linkage::LinkageKey& key,
                                                  const BlindOptions& options);

// One identifier of a query file, blinded, and what the analyst typed.
struct QueryRow {
  int line = 0;
  std::string type;  // the file's type name, lower case ("iban")
  // The identifier as written in the file, with its country, document type
  // or date of birth: for the analyst's own screen, never sent.
  std::string typed;
  liaison::v1::BlindedIdentifier identifier;
};

// Checks, normalises and blinds the rows of a query file (ParseIndexFile
// with kQuery) under `key`: at most 20 rows (DP-LINK-01), no two rows naming
// the same identifier once normalised. Refusals as BlindRows gives them,
// ending "nothing was sent"; more than 20 rows is refused before any row is
// read ("SOURCE: 21 identifiers; a linkage query carries at most 20 ...").
absl::StatusOr<std::vector<QueryRow>> BlindQueryRows(
    const std::vector<IndexRow>& rows, absl::string_view source,
    const endpoint::linkage::Normalizer& normalizer, const endpoint::linkage::LinkageKey& key);

// "LNK-" + 1..64 of A-Z a-z 0-9 - (as the broker requires); InvalidArgument
// "case_handle: ..." otherwise (the handle is not quoted).
absl::Status CheckCaseHandle(absl::string_view handle);

}  // namespace liaison::cli

#endif  // LIAISON_CONNECTORS_CLI_INDEX_FILE_H_
