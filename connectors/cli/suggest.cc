#include "connectors/cli/suggest.h"

#include <algorithm>
#include <cctype>

namespace liaison::cli {

size_t EditDistance(const std::string& a, const std::string& b) {
  auto same = [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  };
  // Optimal string alignment distance: Levenshtein plus the transposition
  // of two neighbours ("recipeints"), the commonest typo.
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = same(a[i - 1], b[j - 1]) ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && same(a[i - 1], b[j - 2]) && same(a[i - 2], b[j - 1])) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

std::optional<std::string> Nearest(const std::string& typed,
                                   const std::vector<std::string>& candidates) {
  if (typed.size() > 200) return std::nullopt;  // not a typo; keep the cost bounded
  const size_t limit = std::max<size_t>(2, typed.size() / 3);
  std::optional<std::string> best;
  size_t best_distance = limit + 1;
  bool tie = false;
  for (const std::string& c : candidates) {
    const size_t distance = EditDistance(typed, c);
    if (distance < best_distance) {
      best = c;
      best_distance = distance;
      tie = false;
    } else if (distance == best_distance && best && *best != c) {
      tie = true;
    }
  }
  if (tie) return std::nullopt;
  return best;
}

}  // namespace liaison::cli
