#include "tests/linearizability/iterator_checker.h"

#include <algorithm>
#include <sstream>

namespace tickring::lincheck {
namespace {

std::string name(std::uint64_t v) {
  return v == kTorn ? "torn" : "v" + std::to_string(v);
}

void check_one(const history& h, const writer_replay& w, std::size_t t, std::size_t i,
               iterator_verdict& out) {
  const op& it = h.threads[t].ops[i];
  const auto [lo, hi] = w.window(it.inv, it.resp);
  ++out.v.reads;
  if (lo < hi) ++out.v.concurrent_reads;
  const yielded_pair* first = h.threads[t].yielded.data() + it.first_yield;
  const yielded_pair* last = first + it.yields;
  auto fail = [&](const std::string& why) {
    std::ostringstream s;
    s << describe(h, t, i) << ": " << why << " (map states S_" << lo << "..S_" << hi
      << " while it lived)";
    out.v.add(t, i, s.str());
  };

  // 1 and 3: order and no phantom.
  std::int64_t above = it.key;
  bool started = false;
  for (const yielded_pair* p = first; p != last; ++p) {
    out.yielded++;
    if (started ? p->key >= above : p->key > above) {
      fail("time " + std::to_string(p->key) + " after " + std::to_string(above) +
           (started ? ": not strictly decreasing" : ": above `to`"));
      return;
    }
    if (!w.holds_somewhere(p->key, p->value, lo, hi)) {
      std::ostringstream s;
      s << "yielded (" << p->key << ", " << name(p->value) << "), never in the map while it lived;"
        << " it held";
      for (const auto v : w.values_between(p->key, lo, hi))
        s << ' ' << (v ? name(v) : "none");
      fail(s.str());
      return;
    }
    above = p->key;
    started = true;
  }

  // 2: no skip, down to the last yielded time if the reader stopped early.
  if (!it.ok && first == last) return;  // stopped before its first step: nothing was promised
  const std::int64_t floor = it.ok ? INT64_MIN : (last - 1)->key;
  // Present throughout means present at S_lo to begin with.
  const auto keys = w.keys_at(lo);
  const yielded_pair* p = first;
  for (auto k = std::upper_bound(keys.begin(), keys.end(), it.key); k != keys.begin();) {
    --k;
    if (*k <= floor) break;
    if (!w.present_throughout(*k, lo, hi)) continue;
    ++out.required;
    while (p != last && p->key > *k)
      ++p;
    if (p == last || p->key != *k) {
      fail("skipped time " + std::to_string(*k) + ", present throughout its life");
      return;
    }
  }
}

}  // namespace

iterator_verdict check_iterators(const history& h, const writer_replay& w) {
  iterator_verdict out;
  for (std::size_t t = 1; t < h.threads.size(); ++t) {
    const auto& ops = h.threads[t].ops;
    for (std::size_t i = 0; i < ops.size(); ++i) {
      if (ops[i].kind == op_kind::iterate) check_one(h, w, t, i, out);
    }
  }
  return out;
}

}  // namespace tickring::lincheck
