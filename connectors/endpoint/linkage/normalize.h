// Normalisation of case-linkage identifiers to one canonical form per kind,
// so that two endpoints that write the same identifier differently blind the
// same bytes. Every function refuses what it cannot normalise with
// InvalidArgument naming the field and the reason ("phone: not a number ...",
// "iban: checksum (mod 97) fails"); messages never quote the input.
//
//   auto n = Normalizer::Create({.default_region = "LV", .name_language = "lv"});
//   auto phone = (*n)->Phone("020 123 456");          // "+37120123456"
//   auto blinded = Blind(key, *phone);                 // blind.h
//
// README.md in this folder lists the canonical form of each kind.
#ifndef LIAISON_CONNECTORS_ENDPOINT_LINKAGE_NORMALIZE_H_
#define LIAISON_CONNECTORS_ENDPOINT_LINKAGE_NORMALIZE_H_

#include <memory>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"
#include "connectors/endpoint/linkage/identifier.h"

namespace liaison::endpoint::linkage {

struct NormalizerOptions {
  // ISO 3166-1 alpha-2 region for phone numbers written without a country
  // code (the endpoint's own country), e.g. "LV".
  std::string default_region;
  // ISO 639-1 language of Cyrillic names when a call gives none: "bg", "ru"
  // or "uk" choose that country's official romanisation; anything else (or
  // empty) falls back to ICU's Any-Latin.
  std::string name_language;
};

// Holds the ICU transliterators and libphonenumber's metadata. Not
// thread-safe (ICU transliterators keep state per call): one per thread.
class Normalizer {
 public:
  // InvalidArgument if default_region is not a region libphonenumber knows;
  // Internal if ICU cannot build a transliterator (broken ICU data).
  static absl::StatusOr<std::unique_ptr<Normalizer>> Create(NormalizerOptions options);
  ~Normalizer();

  // E.164 ("+37120123456"). A number without "+"/"00" is read in
  // default_region. Refused: unparsable, wrong length for its country,
  // unknown country code. Extensions are dropped.
  absl::StatusOr<Canonical> Phone(absl::string_view text) const;
  // ISO 13616 electronic form ("LV80BANK0000435195001"): spaces, hyphens and
  // a leading "IBAN" dropped, upper case. Refused: unknown country, wrong
  // length for the country, characters outside A-Z0-9, mod-97 check fails.
  absl::StatusOr<Canonical> Iban(absl::string_view text) const;
  // 17 characters of A-Z0-9 without I, O, Q (ISO 3779); the check digit
  // (9th) is verified for North American VINs only (see the .cc).
  absl::StatusOr<Canonical> Vin(absl::string_view text) const;
  // "LV|AB1234": ISO 3166-1 alpha-2 country, then the plate upper case
  // without separators; Cyrillic plate letters become their Latin
  // look-alikes (Bulgarian plates use only those twelve).
  absl::StatusOr<Canonical> VehiclePlate(absl::string_view plate, absl::string_view country) const;
  // ICAO 9303 characters: issuing state as 3 characters padded with '<'
  // ("LVA", "D<<"; ISO alpha-2 accepted and mapped), document category
  // (P passport, I identity card: MRZ codes A, C, I; V visa), number
  // without separators or '<' fillers: "LVAPLV1234567".
  absl::StatusOr<Canonical> TravelDocument(absl::string_view issuing_country,
                                           absl::string_view document_type,
                                           absl::string_view number) const;
  // "local@domain": trimmed; domain in IDNA ASCII (UTS #46), lower case, no
  // trailing dot; local part case-folded but otherwise kept (see the .cc).
  absl::StatusOr<Canonical> Email(absl::string_view text) const;
  // "berzins girts|1990-02-28": the name's parts, romanised, ASCII, lower
  // case, sorted; then the date of birth (YYYY-MM-DD or YYYYMMDD, a real
  // calendar date between 1880 and 2199). `language` overrides
  // name_language for this name.
  absl::StatusOr<Canonical> NameDob(absl::string_view name, absl::string_view date_of_birth,
                                    absl::string_view language = "") const;

  struct Impl;

 private:
  explicit Normalizer(std::unique_ptr<Impl> impl);
  // The canonical value of `kind`, or `value`'s status.
  static absl::StatusOr<Canonical> Make(IdentifierKind kind, absl::StatusOr<std::string> value);
  std::unique_ptr<Impl> impl_;
};

}  // namespace liaison::endpoint::linkage

#endif  // LIAISON_CONNECTORS_ENDPOINT_LINKAGE_NORMALIZE_H_
