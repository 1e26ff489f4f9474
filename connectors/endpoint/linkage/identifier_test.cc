#include "connectors/endpoint/linkage/identifier.h"

#include "gtest/gtest.h"
#include "liaison/v1/message.pb.h"

namespace liaison::endpoint::linkage {
namespace {

// The blinded values travel as liaison.v1.BlindedIdentifier and are stored in
// the broker's index by number: the library's kinds must keep the proto's.
TEST(IdentifierKind, NumbersAreThoseOfTheProto) {
  EXPECT_EQ(static_cast<int>(IdentifierKind::kPhone), liaison::v1::IDENTIFIER_TYPE_PHONE);
  EXPECT_EQ(static_cast<int>(IdentifierKind::kIban), liaison::v1::IDENTIFIER_TYPE_IBAN);
  EXPECT_EQ(static_cast<int>(IdentifierKind::kVin), liaison::v1::IDENTIFIER_TYPE_VIN);
  EXPECT_EQ(static_cast<int>(IdentifierKind::kTravelDocument),
            liaison::v1::IDENTIFIER_TYPE_DOC_NUMBER);
  EXPECT_EQ(static_cast<int>(IdentifierKind::kNameDob), liaison::v1::IDENTIFIER_TYPE_NAME_DOB);
  EXPECT_EQ(static_cast<int>(IdentifierKind::kEmail), liaison::v1::IDENTIFIER_TYPE_EMAIL);
  EXPECT_EQ(static_cast<int>(IdentifierKind::kVehiclePlate),
            liaison::v1::IDENTIFIER_TYPE_VEHICLE_PLATE);
}

}  // namespace
}  // namespace liaison::endpoint::linkage
