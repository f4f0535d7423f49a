// protocol/json_text.h: strings always come out as valid JSON in valid UTF-8.
#include "protocol/json_text.h"

#include <gtest/gtest.h>

#include <string>

namespace tickring::protocol {
namespace {

std::string as_json(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

constexpr std::string_view kFffd = "\xEF\xBF\xBD";

TEST(JsonText, EscapesQuotesBackslashesAndControlBytes) {
  EXPECT_EQ(as_json("a\"b\\c\nd\te\x01"), R"("a\"b\\c\nd\te\u0001")");
}

TEST(JsonText, WellFormedUtf8PassesThrough) {
  const std::string s = "EUR\xE2\x82\xAC \xC3\xA9 \xF0\x9F\x93\x88 \xED\x9F\xBF \xF4\x8F\xBF\xBF";
  EXPECT_EQ(as_json(s), "\"" + s + "\"");
}

TEST(JsonText, InvalidUtf8BecomesReplacementCharacters) {
  const std::string r(kFffd);
  EXPECT_EQ(as_json("a\xFF"
                    "b"),
            "\"a" + r + "b\"");                                         // never a lead byte
  EXPECT_EQ(as_json("\x80"), "\"" + r + "\"");                          // lone continuation
  EXPECT_EQ(as_json("\xC3"), "\"" + r + "\"");                          // truncated at the end
  EXPECT_EQ(as_json("\xC3(x"), "\"" + r + "(x\"");                      // bad continuation
  EXPECT_EQ(as_json("\xC0\xAF"), "\"" + r + r + "\"");                  // overlong '/'
  EXPECT_EQ(as_json("\xE0\x80\xAF"), "\"" + r + r + r + "\"");          // overlong
  EXPECT_EQ(as_json("\xED\xA0\x80"), "\"" + r + r + r + "\"");          // surrogate U+D800
  EXPECT_EQ(as_json("\xF4\x90\x80\x80"), "\"" + r + r + r + r + "\"");  // above U+10FFFF
  EXPECT_EQ(as_json("\xE2\x82"), "\"" + r + r + "\"");                  // truncated 3-byte
}

TEST(JsonText, ErrorMessageWithInvalidUtf8IsValidJson) {
  const std::string e = json_error(404, "no series q/\xFE\"x");
  EXPECT_EQ(e,
            R"({"error":{"code":404,"message":"no series q/)" + std::string(kFffd) + R"(\"x"}})");
}

}  // namespace
}  // namespace tickring::protocol
