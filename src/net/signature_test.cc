#include "net/signature.h"

#include "gtest/gtest.h"

namespace keelson::net {
namespace {

TEST(Base64Decode, RoundTripsAndRejectsWhatIsNotBase64) {
  for (std::string s : {std::string(""), std::string("a"), std::string("ab"), std::string("abc"),
                        std::string("keelson-sim-webhook-key!"), std::string("\0\xff\x10", 3)}) {
    EXPECT_EQ(Base64Decode(Base64Encode(s)), s);
  }
  EXPECT_EQ(Base64Decode("a2VlbHNvbi1zaW0td2ViaG9vay1rZXkh"), "keelson-sim-webhook-key!");
  EXPECT_EQ(Base64Decode("abc"), std::nullopt);   // length not a multiple of 4
  EXPECT_EQ(Base64Decode("ab!d"), std::nullopt);  // not in the alphabet
  EXPECT_EQ(Base64Decode("a=bc"), std::nullopt);  // padding in the middle
  EXPECT_EQ(Base64Decode("ab c"), std::nullopt);  // whitespace
  EXPECT_EQ(Base64Decode("YQ=="), "a");
}

}  // namespace
}  // namespace keelson::net
