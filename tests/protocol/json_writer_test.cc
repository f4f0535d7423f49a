// protocol/json_writer.h: commas and colons placed by the writer, at any nesting.
#include "protocol/json_writer.h"

#include <gtest/gtest.h>

#include <limits>
#include <nlohmann/json.hpp>
#include <string>

namespace tickring::protocol {
namespace {

TEST(JsonWriter, NestedObjectsAndArraysGetTheirCommas) {
  std::string out = "prefix:";
  json_writer w(out);
  w.begin_object().key("a").value(std::int64_t{-1}).key("b").begin_array();
  w.value(1.5).begin_object().end_object().begin_array().end_array().null().value(true);
  w.end_array().key("c").begin_object().key("d").value("x\"y").end_object();
  w.key("e").value(std::uint64_t{18446744073709551615ULL}).end_object();
  EXPECT_EQ(
      out,
      R"(prefix:{"a":-1,"b":[1.5,{},[],null,true],"c":{"d":"x\"y"},"e":18446744073709551615})");
  EXPECT_TRUE(nlohmann::json::accept(out.substr(7)));
}

TEST(JsonWriter, ValueWithPlacesOnlyTheComma) {
  std::string out;
  json_writer w(out);
  w.begin_array();
  for (int i = 0; i < 3; ++i)
    w.value_with([&](std::string& o) { o += "{\"i\":" + std::to_string(i) + "}"; });
  w.end_array();
  EXPECT_EQ(out, R"([{"i":0},{"i":1},{"i":2}])");
}

TEST(JsonWriter, NumbersAndStringsAsJsonText) {
  std::string out;
  json_writer w(out);
  w.begin_array().value(std::numeric_limits<double>::infinity()).value(0.1).value("\x01");
  w.end_array();
  EXPECT_EQ(out, R"([null,0.1,"\u0001"])");
}

}  // namespace
}  // namespace tickring::protocol
