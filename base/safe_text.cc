#include "base/safe_text.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace liaison {

std::string SafeText(std::string_view text, size_t max) {
  std::string out;
  out.reserve(std::min(text.size(), max) + 16);
  for (size_t i = 0; i < text.size() && i < max; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    out.push_back(c >= 0x20 && c < 0x7f && c != '\'' && c != '"' && c != '\\' ? static_cast<char>(c)
                                                                              : '?');
  }
  if (text.size() > max) absl::StrAppend(&out, "...(", text.size(), " bytes)");
  return out;
}

}  // namespace liaison
