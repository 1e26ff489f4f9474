// A string identifier with a type of its own, so that two ids of different
// kinds (a message id and an endpoint id, a delivery item id and a hold id)
// cannot be passed for one another: `Contains(recipient, item)` with the
// arguments swapped does not compile. Construction is explicit; `value()`
// gives the text for protobuf fields, Kafka keys and logs.
//
//   struct MessageIdTag {};
//   using MessageId = StrongId<MessageIdTag>;
#ifndef LIAISON_BASE_STRONG_ID_H_
#define LIAISON_BASE_STRONG_ID_H_

#include <compare>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>

namespace liaison {

template <typename Tag>
class StrongId {
 public:
  StrongId() = default;
  explicit StrongId(std::string value) : value_(std::move(value)) {}
  explicit StrongId(std::string_view value) : value_(value) {}
  explicit StrongId(const char* value) : value_(value) {}

  const std::string& value() const { return value_; }
  bool empty() const { return value_.empty(); }

  friend auto operator<=>(const StrongId&, const StrongId&) = default;
  friend bool operator==(const StrongId&, const StrongId&) = default;

  template <typename H>
  friend H AbslHashValue(H h, const StrongId& id) {
    return H::combine(std::move(h), id.value_);
  }
  friend std::ostream& operator<<(std::ostream& os, const StrongId& id) { return os << id.value_; }

 private:
  std::string value_;
};

}  // namespace liaison

#endif  // LIAISON_BASE_STRONG_ID_H_
