// UUIDv7 (RFC 9562): 48-bit Unix milliseconds, version 7, random bits. Message
// ids are UUIDv7 so that they sort by creation time.
#ifndef LIAISON_BASE_UUID_H_
#define LIAISON_BASE_UUID_H_

#include <string>
#include <string_view>

#include "absl/time/time.h"

namespace liaison {

// Lower-case canonical form "xxxxxxxx-xxxx-7xxx-yxxx-xxxxxxxxxxxx".
std::string NewUuidV7(absl::Time now);

// True for the lower-case canonical form with version 7 and variant 10xx.
bool IsUuidV7(std::string_view text);

// The Unix-millisecond timestamp a UUIDv7 carries (its first 48 bits).
// Requires IsUuidV7(text).
absl::Time UuidV7Time(std::string_view text);

}  // namespace liaison

#endif  // LIAISON_BASE_UUID_H_
