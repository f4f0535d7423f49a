// Test helpers: write histories by hand (hand-picked tickets) and generate random ones whose
// linearizability is known by construction.
//
//   history_builder b(2);                      // a writer and two readers
//   b.put(10, 1, true, 1, 2).get(1, 10, 1, 3, 4);
//   check_history(b.h);
//
// `generate_history` simulates a single-writer run on a real-valued timeline: every operation
// gets an interval and a linearization point inside it, and each read's result is the
// model's answer at that point, so the history is linearizable; `mutate_one_read` then changes
// one read's result, which may or may not leave it linearizable (the checkers must agree).
// Cost: O(n log n). Header-only: used by the unit tests and nothing else.
#pragma once

#include <algorithm>
#include <random>
#include <utility>
#include <vector>

#include "tests/linearizability/history.h"
#include "tests/linearizability/writer_replay.h"

namespace tickring::lincheck {

struct history_builder {
  explicit history_builder(int readers) { h.threads.resize(static_cast<std::size_t>(readers) + 1); }
  history h;

  history_builder& add(std::size_t thread, op o) {
    h.threads[thread].ops.push_back(o);
    return *this;
  }
  history_builder& put(std::int64_t k, std::uint64_t id, bool inserted, ticket inv, ticket resp) {
    return add(0, {op_kind::put, inserted, k, id, inv, resp});
  }
  history_builder& remove(std::int64_t k, bool found, ticket inv, ticket resp) {
    return add(0, {op_kind::remove, found, k, 0, inv, resp});
  }
  history_builder& get(std::size_t r, std::int64_t k, std::uint64_t id, ticket inv, ticket resp) {
    return add(r, {op_kind::get, false, k, id, inv, resp});
  }
  history_builder& size(std::size_t r, std::uint64_t n, ticket inv, ticket resp) {
    return add(r, {op_kind::size, false, 0, n, inv, resp});
  }
  history_builder& iterate(std::size_t r, std::int64_t to, bool finished,
                           const std::vector<yielded_pair>& pairs, ticket inv, ticket resp) {
    auto& t = h.threads[r];
    op o{op_kind::iterate, finished, to, 0, inv, resp};
    o.first_yield = static_cast<std::uint32_t>(t.yielded.size());
    o.yields = static_cast<std::uint32_t>(pairs.size());
    t.yielded.insert(t.yielded.end(), pairs.begin(), pairs.end());
    return add(r, o);
  }
};

struct generator_params {
  int readers = 2;
  int writer_ops = 10;
  int reader_ops = 10;  // per reader
  int keys = 2;
  bool sizes = true;       // readers also call size()
  double read_length = 2;  // mean read duration relative to a write's
};

inline history generate_history(std::mt19937_64& rng, const generator_params& p) {
  std::uniform_real_distribution<double> u(0, 1);
  history h;
  h.threads.resize(static_cast<std::size_t>(p.readers) + 1);
  struct stamp {
    double inv, resp;
  };
  std::vector<std::vector<stamp>> stamps(h.threads.size());
  // The writer: back-to-back operations, each taking effect at its midpoint-ish `lin`.
  std::vector<double> lin;
  std::vector<std::uint64_t> present(static_cast<std::size_t>(p.keys), 0);
  double t = 0;
  for (int i = 0; i < p.writer_ops; ++i) {
    const auto k = static_cast<std::size_t>(rng() % static_cast<std::uint64_t>(p.keys));
    op o{};
    o.key = static_cast<std::int64_t>(k);
    if (rng() % 3 != 0) {
      o = {op_kind::put, present[k] == 0, o.key, static_cast<std::uint64_t>(i) + 1};
      present[k] = o.value;
    } else {
      o = {op_kind::remove, present[k] != 0, o.key};
      present[k] = 0;
    }
    const double inv = t + u(rng);
    const double resp = inv + 0.1 + u(rng);
    lin.push_back(inv + (resp - inv) * (0.05 + 0.9 * u(rng)));
    stamps[0].push_back({inv, resp});
    h.threads[0].ops.push_back(o);
    t = resp;
  }
  const writer_replay w(h.threads[0]);
  for (std::size_t r = 1; r < h.threads.size(); ++r) {
    double at = u(rng) * 2;
    for (int i = 0; i < p.reader_ops; ++i) {
      const double inv = at + u(rng) * 1.5;
      const double resp = inv + 0.05 + u(rng) * p.read_length;
      const double point = inv + (resp - inv) * (0.05 + 0.9 * u(rng));
      const auto j =
          static_cast<std::size_t>(std::lower_bound(lin.begin(), lin.end(), point) - lin.begin());
      op o{};
      if (p.sizes && rng() % 4 == 0) {
        o = {op_kind::size, false, 0, w.size_at(j)};
      } else {
        const auto k = static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(p.keys));
        o = {op_kind::get, false, k, w.value_at(k, j)};
      }
      h.threads[r].ops.push_back(o);
      stamps[r].push_back({inv, resp});
      at = resp;
    }
  }
  // Real-valued times to unique tickets, keeping their order.
  std::vector<std::pair<double, ticket*>> events;
  for (std::size_t r = 0; r < h.threads.size(); ++r) {
    for (std::size_t i = 0; i < stamps[r].size(); ++i) {
      events.emplace_back(stamps[r][i].inv, &h.threads[r].ops[i].inv);
      events.emplace_back(stamps[r][i].resp, &h.threads[r].ops[i].resp);
    }
  }
  std::sort(events.begin(), events.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (std::size_t i = 0; i < events.size(); ++i)
    *events[i].second = i + 1;
  return h;
}

// Changes one read's result to another plausible one: a different value the key has held (or
// none), or a size off by one. Returns false when the history has no read.
inline bool mutate_one_read(std::mt19937_64& rng, history& h) {
  std::vector<op*> reads;
  for (std::size_t r = 1; r < h.threads.size(); ++r) {
    for (op& o : h.threads[r].ops)
      reads.push_back(&o);
  }
  if (reads.empty()) return false;
  op& o = *reads[rng() % reads.size()];
  if (o.kind == op_kind::size) {
    o.value = o.value == 0 || rng() % 2 == 0 ? o.value + 1 : o.value - 1;
    return true;
  }
  std::vector<std::uint64_t> values{kAbsent};
  for (const op& w : h.threads[0].ops) {
    if (w.kind == op_kind::put && w.key == o.key) values.push_back(w.value);
  }
  std::erase(values, o.value);
  if (!values.empty()) o.value = values[rng() % values.size()];
  return true;
}

}  // namespace tickring::lincheck
