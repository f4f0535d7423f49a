#include "server/http/series_query.h"

#include <charconv>

#include "protocol/json_text.h"

namespace tickring::server {

using core::time_ns;
using protocol::field_column;
using protocol::time_format;

http_reply too_large(std::size_t cap) {
  return error_reply(413, "answer exceeds " + std::to_string(cap) +
                              " bytes (--max-answer-bytes); narrow from/to, lower limit or "
                              "ask for fewer fields");
}

time_ns time_param(const protocol::parsed_target& t, std::string_view name, time_ns dflt,
                   param_error& err) {
  const auto v = t.param(name);
  if (!v) return dflt;
  const auto parsed = protocol::parse_time(*v);
  if (!parsed) {
    err.set("invalid '" + std::string(name) + "': '" + std::string(*v) +
            "' is neither integer nanoseconds nor an RFC 3339 time");
    return dflt;
  }
  return *parsed;
}

query parse_query(const core::series& s, const protocol::parsed_target& t, param_error& err) {
  query q;
  q.from = time_param(t, "from", q.from, err);
  q.to = time_param(t, "to", q.to, err);
  if (auto v = t.param("limit")) {
    std::size_t n = 0;
    const auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
    if (ec != std::errc() || p != v->data() + v->size() || n < 1 || n > kMaxLimit) {
      err.set("invalid 'limit': must be an integer from 1 to " + std::to_string(kMaxLimit));
    } else {
      q.limit = n;
    }
  }
  if (auto v = t.param("order")) {
    if (*v != "asc" && *v != "desc") err.set("invalid 'order': use asc or desc");
    q.desc = *v == "desc";
  }
  if (auto v = t.param("format")) {
    if (*v != "json" && *v != "csv") err.set("invalid 'format': use json or csv");
    q.csv = *v == "csv";
  }
  if (auto v = t.param("epoch")) {
    const auto f = protocol::parse_time_format(*v);
    if (!f) {
      err.set("invalid 'epoch': use ns, u, ms, s or rfc3339");
    } else {
      q.epoch = *f;
    }
  }
  const auto& fields = s.fields();
  if (auto v = t.param("fields")) {
    // A repeated name is one column: the answer has at most the series' field count columns,
    // however long the list (a hostile list would otherwise multiply the answer's size).
    std::string_view rest = *v;
    std::uint32_t seen = 0;  // bit i: field i is a column already (kMaxFieldsPerSeries <= 32)
    static_assert(core::kMaxFieldsPerSeries <= 32);
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      const std::string_view name = rest.substr(0, comma);
      const int idx = s.field_index(name);
      if (idx < 0) {
        err.set("invalid 'fields': '" + std::string(name.substr(0, kMaxEchoedName)) +
                (name.size() > kMaxEchoedName ? "...'" : "'") + " is not a field of this series");
        break;
      }
      const auto i = static_cast<std::size_t>(idx);
      if ((seen & (1U << i)) == 0) {
        seen |= 1U << i;
        q.columns.push_back({fields[i].name, fields[i].kind, i});
      }
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  } else {
    for (std::size_t i = 0; i < fields.size(); ++i)
      q.columns.push_back({fields[i].name, fields[i].kind, i});
  }
  return q;
}

void append_series_head(std::string& out, const core::series& s) {
  out += "{\"measurement\":";
  protocol::append_json_string(out, s.measurement());
  out += ",\"symbol\":";
  protocol::append_json_string(out, s.symbol());
}

std::optional<query> query_or_reply(const route_args& a, const responder& respond) {
  param_error err;
  query q = parse_query(*a.series, a.target, err);
  if (err) {
    respond(error_reply(400, err.message));
    return std::nullopt;
  }
  return q;
}

}  // namespace tickring::server
