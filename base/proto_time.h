// google.protobuf.Timestamp <-> absl::Time.
#ifndef LIAISON_BASE_PROTO_TIME_H_
#define LIAISON_BASE_PROTO_TIME_H_

#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"

namespace liaison {

inline absl::Time FromProto(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

inline google::protobuf::Timestamp ToProto(absl::Time t) {
  google::protobuf::Timestamp ts;
  const int64_t s = absl::ToUnixSeconds(t);
  ts.set_seconds(s);
  ts.set_nanos(static_cast<int32_t>((t - absl::FromUnixSeconds(s)) / absl::Nanoseconds(1)));
  return ts;
}

}  // namespace liaison

#endif  // LIAISON_BASE_PROTO_TIME_H_
