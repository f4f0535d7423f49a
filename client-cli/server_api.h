// Typed calls to tickring-server's HTTP API over an http_client, with the server's answers
// parsed (nlohmann_json) into plain structs. Later commands add their calls here.
//
// Errors: each call returns false and sets `error` to one sentence a person can act on
// ("cannot reach http://127.0.0.1:8080/health: Connection refused — is tickring-server
// running?", "GET /health: HTTP 503: ..."). No exceptions. Threads: as http_client.
#pragma once

#include <cstdint>
#include <string>

#include "client-cli/http_client.h"

namespace tickring::cli {

// Percent-encodes all but RFC 3986's unreserved characters: a path segment or query value.
std::string url_encode(std::string_view s);

// GET /health
struct server_health {
  std::uint64_t series = 0;
  std::uint64_t points = 0;  // stored points, all series together
  std::uint64_t lines_accepted = 0;
  std::uint64_t lines_rejected = 0;
};

[[nodiscard]] bool fetch_health(http_client& http, server_health& out, std::string& error);

// "cannot reach <url><target>: <reason> — is tickring-server running?" with the hint only when
// the reason suggests nothing listens there.
std::string describe_transport_error(const http_client& http, std::string_view target,
                                     const std::error_code& ec);

}  // namespace tickring::cli
