#include "server/http/routes_write.h"

#include "protocol/json_text.h"
#include "protocol/line_protocol.h"

namespace tickring::server {
namespace {

// The version string InfluxDB clients look for in X-Influxdb-Version.
constexpr const char* kInfluxVersion = "1.8.10-tickring";

http_reply influx_error(unsigned status, std::string_view message) {
  http_reply r;
  r.status = status;
  r.body = "{\"error\":";
  protocol::append_json_string(r.body, message);
  r.body += "}";
  r.headers.emplace_back("X-Influxdb-Version", kInfluxVersion);
  return r;
}

bool is_identity(std::string_view v) {
  constexpr std::string_view kIdentity = "identity";
  if (v.size() != kIdentity.size()) return false;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if ((v[i] | 0x20) != kIdentity[i]) return false;
  }
  return true;
}

}  // namespace

http_reply ping_reply() {
  http_reply r;
  r.status = 204;
  r.headers.emplace_back("X-Influxdb-Version", kInfluxVersion);
  r.headers.emplace_back("X-Influxdb-Build", "OSS");
  return r;
}

void handle_write(const route_context& ctx, const protocol::parsed_target& target,
                  const http_request_view& req, const responder& respond) {
  if (req.method != http_method::post) {
    http_reply r = influx_error(405, "method not allowed; use POST");
    r.headers.emplace_back("Allow", "POST");
    return respond(std::move(r));
  }
  // Compressed bytes must never be parsed as line protocol. tickring does not decompress
  // (no zlib dependency, and no decompression-bomb bound to get right): a client sends plain
  // text, which InfluxDB accepts too.
  if (!req.content_encoding.empty() && !is_identity(req.content_encoding)) {
    return respond(influx_error(
        415, "Content-Encoding '" + std::string(req.content_encoding.substr(0, 32)) +
                 "' is not supported: send the body uncompressed (without Content-Encoding)"));
  }
  protocol::precision unit = protocol::precision::ns;
  if (auto p = target.param("precision")) {
    const auto parsed = protocol::parse_precision(*p);
    if (!parsed)
      return respond(
          influx_error(400, "invalid precision '" + std::string(*p) + "': use n, u, ms or s"));
    unit = *parsed;
  }
  // Moved, not copied: a body may be --max-body (25 MB) and waits in the writer's queue.
  std::string body =
      req.body_storage != nullptr ? std::move(*req.body_storage) : std::string(req.body);
  const auto queued = ctx.ingest.submit_write(std::move(body), unit, [respond](write_outcome out) {
    // 507 Insufficient Storage: with --data-dir the journal refused the body (nothing
    // applied) or could not make it durable yet (applied in memory; lost if the server
    // stops first).
    if (!out.journal_error.empty()) {
      return respond(influx_error(507, out.accepted == 0
                                           ? "write refused: " + out.journal_error
                                           : "points applied in memory but not yet written to the "
                                             "journal (it keeps them and writes them once it can, "
                                             "unless the server stops first): " +
                                                 out.journal_error));
    }
    if (out.rejected == 0) {
      http_reply r;
      r.status = 204;
      r.headers.emplace_back("X-Influxdb-Version", kInfluxVersion);
      return respond(std::move(r));
    }
    std::string msg = "partial write: " + out.first_errors;
    while (!msg.empty() && msg.back() == '\n')
      msg.pop_back();
    for (auto& c : msg) {
      if (c == '\n') c = ';';
    }
    msg += " dropped=" + std::to_string(out.rejected);
    respond(influx_error(400, msg));
  });
  if (queued == ingest_service::submit_result::stopping) {
    respond(influx_error(503, "the server is stopping; nothing was written"));
  } else if (queued == ingest_service::submit_result::busy) {
    http_reply r = influx_error(503,
                                "the writer is busy (--max-queued-write-bytes of bodies wait "
                                "for it); nothing was written: send it again shortly");
    r.headers.emplace_back("Retry-After", "1");
    respond(std::move(r));
  }
}

}  // namespace tickring::server
