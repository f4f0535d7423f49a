#include "tests/linearizability/wgl_checker.h"

#include <map>
#include <sstream>

namespace tickring::lincheck {

bool register_model::apply(const op& o, register_model& next) const {
  next = *this;
  switch (o.kind) {
    case op_kind::put:
      next.value = o.value;
      return o.ok == (value == kAbsent);
    case op_kind::remove:
      next.value = kAbsent;
      return o.ok == (value != kAbsent);
    case op_kind::get:
      return o.value == value;
    case op_kind::size:
    case op_kind::iterate:
    case op_kind::lowest:
    case op_kind::highest:
    case op_kind::committed:
      break;
  }
  return false;  // not a single-key operation
}

bool map_model::apply(const op& o, map_model& next) const {
  next = *this;
  const auto it = entries.find(o.key);
  const bool present = it != entries.end();
  switch (o.kind) {
    case op_kind::put:
      next.entries[o.key] = o.value;
      return o.ok == !present;
    case op_kind::remove:
      next.entries.erase(o.key);
      return o.ok == present;
    case op_kind::get:
      return o.value == (present ? it->second : kAbsent);
    case op_kind::size:
      return o.value == entries.size();
    case op_kind::lowest:
    case op_kind::highest:
      if (entries.empty()) return o.value == kAbsent;
      if (o.kind == op_kind::lowest) {
        return o.key == entries.begin()->first && o.value == entries.begin()->second;
      }
      return o.key == entries.rbegin()->first && o.value == entries.rbegin()->second;
    case op_kind::iterate:
    case op_kind::committed:
      break;
  }
  return false;
}

std::size_t map_model::hash() const {
  std::size_t h = entries.size();
  for (const auto& [k, v] : entries) {
    h = (h ^ static_cast<std::size_t>(k)) * 0x100000001B3ULL;
    h = (h ^ v) * 0x100000001B3ULL;
  }
  return h;
}

std::string per_key_result::summary() const {
  std::ostringstream s;
  s << (ok ? "every key linearizable" : "NOT linearizable") << ": " << keys << " keys, " << steps
    << " search steps";
  if (gave_up != 0) s << ", " << gave_up << " key(s) gave up (step bound)";
  if (!bad_keys.empty()) {
    s << ", no linearization for time";
    for (const auto k : bad_keys)
      s << ' ' << k;
  }
  return s.str();
}

per_key_result check_per_key(const history& h, std::size_t max_steps) {
  std::map<std::int64_t, std::vector<op>> by_key;  // ordered: reports list keys ascending
  for (const auto& t : h.threads) {
    for (const op& o : t.ops) {
      if (o.kind == op_kind::put || o.kind == op_kind::remove || o.kind == op_kind::get) {
        by_key[o.key].push_back(o);
      }
    }
  }
  per_key_result out;
  out.keys = by_key.size();
  for (const auto& [key, ops] : by_key) {
    const wgl_result r = wgl_check<register_model>(ops, register_model{}, max_steps);
    out.steps += r.steps;
    if (r.outcome == wgl_outcome::gave_up) ++out.gave_up;
    if (r.outcome == wgl_outcome::not_linearizable) {
      out.ok = false;
      if (out.bad_keys.size() < 8) out.bad_keys.push_back(key);
    }
  }
  return out;
}

}  // namespace tickring::lincheck
