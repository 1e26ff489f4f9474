// Private to normalize.cc and names.cc: the state a Normalizer holds.
#ifndef LIAISON_CONNECTORS_ENDPOINT_LINKAGE_NORMALIZE_INTERNAL_H_
#define LIAISON_CONNECTORS_ENDPOINT_LINKAGE_NORMALIZE_INTERNAL_H_

#include <unicode/idna.h>
#include <unicode/normalizer2.h>
#include <unicode/translit.h>

#include <memory>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "connectors/endpoint/linkage/normalize.h"

namespace liaison::endpoint::linkage {

struct Normalizer::Impl {
  NormalizerOptions options;
  const icu::Normalizer2* nfkc_casefold = nullptr;  // owned by ICU
  // ICU's rule-based transliterators (Any-Latin, Latin-ASCII and our
  // Cyrillic tables) serialise their calls on a process-wide ICU mutex
  // (measured: two threads are slower than one), so they run only on text
  // that needs them. Latin diacritics need only the first step below.
  // Any-Latin, for names in scripts without a table of our own.
  std::unique_ptr<icu::Transliterator> any_latin;
  // Removal of combining marks (NFD, remove, NFC): no lock.
  std::unique_ptr<icu::Transliterator> strip_marks;
  // Official national romanisations of Cyrillic, on case-folded text.
  std::unique_ptr<icu::Transliterator> bulgarian, russian, ukrainian;
  // Latin-ASCII, for letters that do not decompose (ł, ø, æ, đ, þ).
  std::unique_ptr<icu::Transliterator> latin_ascii;
  std::unique_ptr<icu::IDNA> idna;
  // ISO 3166-1 alpha-2 codes ICU knows, and their alpha-3 forms.
  absl::flat_hash_set<std::string> alpha2, alpha3;

  // Builds the ICU parts (names.cc).
  absl::Status InitText();
};

namespace internal {
// UTF-8 -> UTF-16, InvalidArgument "<field>: not valid UTF-8".
absl::StatusOr<icu::UnicodeString> FromUtf8(absl::string_view text, absl::string_view field);
std::string ToUtf8(const icu::UnicodeString& s);
// Leading and trailing ASCII white space removed.
absl::string_view Trim(absl::string_view s);
}  // namespace internal

}  // namespace liaison::endpoint::linkage

#endif  // LIAISON_CONNECTORS_ENDPOINT_LINKAGE_NORMALIZE_INTERNAL_H_
