#include "connectors/endpoint/linkage/linkage_key.h"

#include <sys/stat.h>

#include <cstdio>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "base/file.h"

namespace liaison::endpoint::linkage {
namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

absl::StatusOr<LinkageKey> LinkageKey::FromBytes(uint32_t epoch, absl::string_view key) {
  if (epoch < 1 || epoch > kMaxEpoch) {
    return absl::InvalidArgumentError(
        absl::StrCat("linkage key epoch ", epoch, " outside 1..", kMaxEpoch));
  }
  if (key.size() != kKeyBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("linkage key has ", key.size(), " bytes, expected ", kKeyBytes));
  }
  if (key.find_first_not_of('\0') == absl::string_view::npos) {
    return absl::InvalidArgumentError("linkage key is all zero bytes");
  }
  return LinkageKey(epoch, std::string(key));
}

absl::StatusOr<LinkageKey> LinkageKey::Parse(absl::string_view text, absl::string_view source) {
  bool have_format = false;
  int64_t epoch = -1;
  std::string key;
  bool have_key = false;
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_no;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line.front() == '#') continue;
    const std::vector<absl::string_view> words =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    const auto where = absl::StrCat(source, ":", line_no, ": ");
    if (words.size() != 2) {
      return absl::InvalidArgumentError(absl::StrCat(where, "expected 'NAME VALUE'"));
    }
    if (words[0] == "format") {
      if (have_format) return absl::InvalidArgumentError(absl::StrCat(where, "format given twice"));
      if (words[1] != "liaison-linkage-key/1") {
        return absl::InvalidArgumentError(
            absl::StrCat(where, "unknown format (expected liaison-linkage-key/1)"));
      }
      have_format = true;
    } else if (words[0] == "epoch") {
      if (epoch != -1) return absl::InvalidArgumentError(absl::StrCat(where, "epoch given twice"));
      uint32_t e = 0;
      if (!absl::SimpleAtoi(words[1], &e) || !absl::ascii_isdigit(words[1][0]) || e < 1 ||
          e > kMaxEpoch) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, "epoch is not a whole number in 1..", kMaxEpoch));
      }
      epoch = e;
    } else if (words[0] == "key") {
      if (have_key) return absl::InvalidArgumentError(absl::StrCat(where, "key given twice"));
      const absl::string_view hex = words[1];
      if (hex.size() != 2 * kKeyBytes) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, "key has ", hex.size(), " hex digits, expected ", 2 * kKeyBytes));
      }
      for (size_t i = 0; i < hex.size(); i += 2) {
        const int hi = HexDigit(hex[i]), lo = HexDigit(hex[i + 1]);
        if (hi < 0 || lo < 0) {
          return absl::InvalidArgumentError(absl::StrCat(where, "key is not hexadecimal"));
        }
        key.push_back(static_cast<char>(hi * 16 + lo));
      }
      have_key = true;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat(where, "unknown field (expected format, epoch, key)"));
    }
  }
  if (!have_format) return absl::InvalidArgumentError(absl::StrCat(source, ": no format line"));
  if (epoch == -1) return absl::InvalidArgumentError(absl::StrCat(source, ": no epoch line"));
  if (!have_key) return absl::InvalidArgumentError(absl::StrCat(source, ": no key line"));
  auto k = FromBytes(static_cast<uint32_t>(epoch), key);
  if (!k.ok()) return absl::InvalidArgumentError(absl::StrCat(source, ": ", k.status().message()));
  return k;
}

absl::StatusOr<LinkageKey> LinkageKey::Load(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%03o", static_cast<unsigned>(st.st_mode & 0777));
    return absl::FailedPreconditionError(absl::StrCat(
        path, ": group or others may access the linkage key (mode ", mode, "); chmod 600 it"));
  }
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  return Parse(*text, path);
}

std::string LinkageKey::scheme() const { return absl::StrCat("HMAC-SHA256/epoch-", epoch_); }

}  // namespace liaison::endpoint::linkage
