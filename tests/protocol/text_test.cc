#include "protocol/text.h"

#include <gtest/gtest.h>

namespace tickring::protocol {
namespace {

TEST(Text, TrimDropsBlanksAtBothEnds) {
  EXPECT_EQ(trim("  a b\t\r"), "a b");
  EXPECT_EQ(trim(" \t "), "");
  EXPECT_EQ(trim(""), "");
}

TEST(Text, IequalsFoldsLettersOnly) {
  EXPECT_TRUE(iequals("Content-Length", "content-length"));
  EXPECT_FALSE(iequals("Basic", "Basi"));
  EXPECT_FALSE(iequals("Token", "Tokem"));
  // '@' and '`' differ by the case bit but are not letters.
  EXPECT_FALSE(iequals("a@", "a`"));
  EXPECT_FALSE(iequals("[", "{"));
}

TEST(Text, SplitListTrimsAndDropsEmptyItems) {
  EXPECT_EQ(split_list("nats://a:4222, nats://b:4222,,"),
            (std::vector<std::string>{"nats://a:4222", "nats://b:4222"}));
  EXPECT_EQ(split_list("one"), (std::vector<std::string>{"one"}));
  EXPECT_TRUE(split_list(" , ").empty());
  EXPECT_EQ(split_list("a;b", ';'), (std::vector<std::string>{"a", "b"}));
}

}  // namespace
}  // namespace tickring::protocol
