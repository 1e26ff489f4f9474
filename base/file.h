// Whole-file reads with errors that name the file and the reason.
#ifndef LIAISON_BASE_FILE_H_
#define LIAISON_BASE_FILE_H_

#include <string>

#include "absl/status/statusor.h"

namespace liaison {

// The file's bytes. NotFound if it does not exist, FailedPrecondition if it
// cannot be read otherwise ("cannot read PATH: Permission denied").
absl::StatusOr<std::string> ReadFile(const std::string& path);

}  // namespace liaison

#endif  // LIAISON_BASE_FILE_H_
