// Caller-supplied text (endpoint ids, certificate names, senders) as it may
// appear in a status message or a log line: printable ASCII only, length
// capped. Statuses and logs are read by operators, who see metadata only, and
// a hostile client must not be able to write into them at length, forge log
// lines with control characters or smuggle payload through an error.
#ifndef LIAISON_BASE_SAFE_TEXT_H_
#define LIAISON_BASE_SAFE_TEXT_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace liaison {

// Every byte that is not printable ASCII becomes '?', a quote becomes '?'
// too (the text is usually shown between quotes); past `max` bytes the text
// is cut and "...(<n> bytes)" says how long it was.
std::string SafeText(std::string_view text, size_t max = 64);

}  // namespace liaison

#endif  // LIAISON_BASE_SAFE_TEXT_H_
