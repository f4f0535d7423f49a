#include "tests/linearizability/history.h"

#include <sstream>

namespace tickring::lincheck {

std::string describe(const history& h, std::size_t thread, std::size_t index) {
  const op& o = h.threads[thread].ops[index];
  std::ostringstream s;
  s << (thread == 0 ? "writer" : "reader " + std::to_string(thread)) << " #" << index << ' ';
  auto value = [](std::uint64_t v) {
    if (v == kAbsent) return std::string("none");
    if (v == kTorn) return std::string("torn");
    return "v" + std::to_string(v);
  };
  switch (o.kind) {
    case op_kind::put:
      s << "put(" << o.key << ", v" << o.value << ") -> " << (o.ok ? "inserted" : "overwritten")
        << ", seq " << o.seq;
      break;
    case op_kind::remove:
      s << "remove(" << o.key << ") -> " << (o.ok ? "found" : "absent");
      break;
    case op_kind::get:
      s << "get(" << o.key << ") -> " << value(o.value);
      if (o.value != kAbsent && o.value != kTorn) s << ", seq " << o.seq;
      break;
    case op_kind::size:
      s << "size() -> " << o.value;
      break;
    case op_kind::lowest:
    case op_kind::highest:
      s << (o.kind == op_kind::lowest ? "lowest() -> " : "highest() -> ");
      if (o.value == kAbsent) {
        s << "none";
      } else {
        s << '(' << o.key << ", " << value(o.value) << ", seq " << o.seq << ')';
      }
      break;
    case op_kind::committed:
      s << "committed_seq() -> " << o.value;
      break;
    case op_kind::iterate:
      s << "iterate_backwards(" << (o.key == kNoLimit ? std::string("max") : std::to_string(o.key))
        << ") -> " << o.yields << " pairs" << (o.ok ? "" : " (stopped early)");
      break;
  }
  s << " [inv " << o.inv << ", resp " << o.resp << ", " << (o.resp_ns - o.inv_ns) << " ns]";
  return s.str();
}

}  // namespace tickring::lincheck
