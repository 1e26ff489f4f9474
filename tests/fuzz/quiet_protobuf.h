// Fuzz targets feed protobuf invalid input by design; its error log
// (invalid UTF-8, unknown enum names) would only slow them down and bury
// real reports. Our code's own errors are returned statuses, not logs.
#ifndef LIAISON_TESTS_FUZZ_QUIET_PROTOBUF_H_
#define LIAISON_TESTS_FUZZ_QUIET_PROTOBUF_H_

#include "google/protobuf/stubs/logging.h"

namespace liaison::fuzz {

inline void QuietProtobuf() { google::protobuf::SetLogHandler(nullptr); }

}  // namespace liaison::fuzz

#endif  // LIAISON_TESTS_FUZZ_QUIET_PROTOBUF_H_
