// server::router: the route table's answers for reads (no socket, no ingest thread): the
// status and the one error shape for unknown routes, wrong methods, bad parameters and
// unknown series, and a read of a series written through the write path.
#include "server/http/router.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "server/ingest/line_applier.h"
#include "server/ingest/write_path.h"

namespace tickring::server {
namespace {

class RouterTest : public ::testing::Test {
 protected:
  RouterTest() {
    std::string reason;
    for (int i = 0; i < 5; ++i) {
      const std::string line = "quotes,sym=A bid=" + std::to_string(i) + " " + std::to_string(i);
      EXPECT_TRUE(applier_.apply(line, 1, 0, reason)) << reason;
    }
  }
  http_reply get(std::string_view target, http_method m = http_method::get) {
    http_reply out;
    bool answered = false;
    router_.handle({m, target, {}, {}, {}, {}, nullptr}, [&](http_reply r) {
      out = std::move(r);
      answered = true;
    });
    EXPECT_TRUE(answered) << "a read is answered at once";
    return out;
  }
  static void expect_error(const http_reply& r, unsigned status) {
    EXPECT_EQ(r.status, status) << r.body;
    const auto j = nlohmann::json::parse(r.body, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << r.body;
    EXPECT_EQ(j["error"]["code"], status) << r.body;
    EXPECT_TRUE(j["error"]["message"].is_string()) << r.body;
  }

  core::series_store store_;
  ingest_counters counters_;
  write_path path_{store_, counters_};
  line_applier applier_{path_};
  server_config config_;
  token_auth auth_{"", false};                     // open server
  ingest_service ingest_{store_, config_, auth_};  // never started: reads do not use it
  http_metrics metrics_;
  core::window_store window_{10'000'000'000};
  router router_{route_context{store_, ingest_, config_, metrics_, window_, nullptr, auth_}};
};

TEST_F(RouterTest, HealthAnswers) {
  EXPECT_EQ(get("/health").status, 200U);
}

TEST_F(RouterTest, UnknownRouteIs404) {
  expect_error(get("/no/such/route"), 404);
}

TEST_F(RouterTest, WrongMethodIs405WithAllow) {
  const auto r = get("/health", http_method::del);
  expect_error(r, 405);
  bool allow = false;
  for (const auto& [k, v] : r.headers)
    allow = allow || (k == "Allow" && v.find("GET") != std::string::npos);
  EXPECT_TRUE(allow);
}

TEST_F(RouterTest, BadParameterIsNamed) {
  const auto r = get("/v1/series/quotes/A?limit=-1");
  expect_error(r, 400);
  EXPECT_NE(r.body.find("limit"), std::string::npos) << r.body;
}

TEST_F(RouterTest, BadPercentEncodingIs400) {
  expect_error(get("/v1/series/%zz/A"), 400);
}

TEST_F(RouterTest, UnknownSeriesIs404) {
  expect_error(get("/v1/series/quotes/NOPE"), 404);
}

TEST_F(RouterTest, SeriesReadReturnsWhatWasWritten) {
  const auto r = get("/v1/series/quotes/A?order=desc&limit=2");
  ASSERT_EQ(r.status, 200U) << r.body;
  const auto j = nlohmann::json::parse(r.body);
  ASSERT_EQ(j["points"].size(), 2U);
  EXPECT_EQ(j["points"][0]["time"], 4);
  EXPECT_EQ(j["points"][0]["bid"], 4.0);
  EXPECT_EQ(j["points"][1]["time"], 3);
}

}  // namespace
}  // namespace tickring::server
