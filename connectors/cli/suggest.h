// "Did you mean …?": the nearest of a list of names to a mistyped one, for
// the CLI's commands, options, endpoint ids and JSON field names.
#ifndef LIAISON_CONNECTORS_CLI_SUGGEST_H_
#define LIAISON_CONNECTORS_CLI_SUGGEST_H_

#include <optional>
#include <string>
#include <vector>

namespace liaison::cli {

// Edit distance (insert, delete, substitute, swap of neighbours), ignoring
// ASCII case.
size_t EditDistance(const std::string& a, const std::string& b);

// The candidate nearest to `typed` if it is close enough to be a typo (at
// most 2 edits, or a third of the name's length for long names); nullopt
// when none is, or when two candidates are equally near.
std::optional<std::string> Nearest(const std::string& typed,
                                   const std::vector<std::string>& candidates);

}  // namespace liaison::cli

#endif  // LIAISON_CONNECTORS_CLI_SUGGEST_H_
