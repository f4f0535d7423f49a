// What the router sees of an HTTP exchange, free of Beast so that route code compiles fast.
//
// Threads: a request view is valid only during router::handle; the responder may be called
// once, from any thread (the session posts the reply to its own strand).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tickring::server {

enum class http_method { get, head, post, put, del, other };

struct http_request_view {
  http_method method;
  std::string_view target;
  std::string_view body;
  std::string_view content_type;
  std::string_view content_encoding;  // empty when absent
  std::string_view authorization;     // the Authorization header; empty when absent
  // The body's storage, for a handler that keeps the body past handle() (a /write handed to
  // the ingest thread): it moves the body out instead of copying it, after which `body` is
  // no longer valid. Null when there is nothing to take.
  std::string* body_storage = nullptr;
};

struct http_reply {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

using responder = std::function<void(http_reply)>;

// The one error shape of tickring's own routes: {"error":{"code":<status>,"message":..}}.
// (/write and /query answer InfluxDB's {"error":".."} instead: their clients parse that.)
http_reply error_reply(unsigned status, std::string_view message);
// 405 with the Allow header, e.g. allow = "GET, HEAD".
http_reply method_not_allowed(std::string_view allow);

}  // namespace tickring::server
