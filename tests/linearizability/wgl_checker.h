// Wing & Gong's linearizability search with Lowe's memoisation, for any number of writers,
// and its use per key (P-compositionality).
//
// The search (Wing & Gong 1993; Lowe, "Testing for linearizability", 2017; as in Porcupine):
// the invocation and response events of all operations sit in one list in real-time order.
// Walking it, an invocation is a candidate to linearize next; if the model accepts its result
// and the pair (set of operations linearized so far, model state) was never reached before,
// it is linearized: both of its events leave the list and the walk restarts at the front. A
// response reached while its operation is still pending means the current prefix cannot be
// extended: undo the last linearized operation and try the next candidate. An empty list is a
// linearization; an empty undo stack at a response proves there is none. Lowe's cache of
// (linearized set, state) makes each configuration be explored once, so the cost is bounded by
// the number of reachable configurations rather than the number of orders.
//
// Per key: get, put and remove on different times touch disjoint parts of the map, so a
// history of them is linearizable iff the sub-history of each time is (Herlihy & Wing's
// locality; Horn & Kroening's P-compositionality). Each time's sub-history is small and is
// searched with a one-register model. size() reads every key at once and is not checked here:
// single_writer_checker.h checks it on the whole history.
//
// Cost: exponential in the worst case (the problem is NP-complete in general); near-linear on
// real histories, where few operations overlap. `max_steps` bounds the work; a search that hits
// it answers `gave_up`, never a verdict it did not prove.
// Model concept: `bool apply(const op&, Model& next) const` (whether the op's recorded result
// is what the model answers, and the state after it), `std::size_t hash() const`, `==`.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <unordered_set>
#include <vector>

#include "tests/linearizability/history.h"

namespace tickring::lincheck {

enum class wgl_outcome { linearizable, not_linearizable, gave_up };

struct wgl_result {
  wgl_outcome outcome = wgl_outcome::linearizable;
  std::size_t steps = 0;
  std::size_t configurations = 0;  // distinct (linearized set, state) pairs reached
};

// One time of the map: a register that may be absent.
struct register_model {
  std::uint64_t value = kAbsent;
  bool apply(const op& o, register_model& next) const;
  [[nodiscard]] std::size_t hash() const { return value * 0x9E3779B97F4A7C15ULL; }
  bool operator==(const register_model&) const = default;
};

// The whole map, with size(): for small histories (tests that compare the search with the
// single-writer check).
struct map_model {
  std::map<std::int64_t, std::uint64_t> entries;
  bool apply(const op& o, map_model& next) const;
  [[nodiscard]] std::size_t hash() const;
  bool operator==(const map_model&) const = default;
};

template <class Model>
wgl_result wgl_check(std::span<const op> ops, const Model& initial, std::size_t max_steps);

struct per_key_result {
  bool ok = true;
  std::size_t keys = 0;
  std::size_t gave_up = 0;  // keys whose search hit its step bound (no verdict)
  std::size_t steps = 0;
  std::vector<std::int64_t> bad_keys;  // the first few keys with no linearization
  [[nodiscard]] std::string summary() const;
};

// Runs wgl_check on the put/remove/get sub-history of every time in `h` (any number of
// writers). `max_steps` bounds each key's search.
[[nodiscard]] per_key_result check_per_key(const history& h, std::size_t max_steps);

// ---- implementation ----------------------------------------------------------------------
namespace wgl_detail {

struct event {
  std::size_t op;
  bool call;
  event* match = nullptr;  // a call's response
  event* prev = nullptr;
  event* next = nullptr;
};

// Takes a call and its response out of the list; `relink` puts them back (reverse order).
inline void lift(event* call) {
  for (event* e : {call, call->match}) {
    e->prev->next = e->next;
    if (e->next != nullptr) e->next->prev = e->prev;
  }
}
inline void relink(event* call) {
  for (event* e : {call->match, call}) {
    e->prev->next = e;
    if (e->next != nullptr) e->next->prev = e;
  }
}

template <class Model>
struct configuration {
  std::vector<std::uint64_t> linearized;
  Model state;
  bool operator==(const configuration&) const = default;
};
template <class Model>
struct configuration_hash {
  std::size_t operator()(const configuration<Model>& c) const {
    std::size_t h = c.state.hash();
    for (const std::uint64_t w : c.linearized)
      h = (h ^ w) * 0x100000001B3ULL + (h >> 29);
    return h;
  }
};

}  // namespace wgl_detail

template <class Model>
wgl_result wgl_check(std::span<const op> ops, const Model& initial, std::size_t max_steps) {
  using wgl_detail::event;
  wgl_result out;
  std::vector<event> events(2 * ops.size() + 1);
  event* const front = &events.back();  // sentinel before the first event
  std::vector<std::pair<ticket, event*>> order;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    events[2 * i] = {i, true, &events[2 * i + 1]};
    events[2 * i + 1] = {i, false};
    order.emplace_back(ops[i].inv, &events[2 * i]);
    order.emplace_back(ops[i].resp, &events[2 * i + 1]);
  }
  std::sort(order.begin(), order.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  event* last = front;
  for (const auto& [unused, e] : order) {
    last->next = e;
    e->prev = last;
    last = e;
  }

  struct frame {
    event* call;
    Model before;
  };
  std::vector<frame> undo;
  wgl_detail::configuration<Model> config{std::vector<std::uint64_t>((ops.size() + 63) / 64),
                                          initial};
  std::unordered_set<wgl_detail::configuration<Model>, wgl_detail::configuration_hash<Model>> seen;
  auto flip = [&](std::size_t i) { config.linearized[i / 64] ^= std::uint64_t{1} << (i % 64); };

  event* e = front->next;
  while (front->next != nullptr) {
    if (++out.steps > max_steps) {
      out.outcome = wgl_outcome::gave_up;
      break;
    }
    if (e->call) {
      Model next;
      if (config.state.apply(ops[e->op], next)) {
        flip(e->op);
        std::swap(config.state, next);  // `next` now holds the state before
        if (seen.insert(config).second) {
          undo.push_back({e, std::move(next)});
          wgl_detail::lift(e);
          e = front->next;
          continue;
        }
        std::swap(config.state, next);
        flip(e->op);
      }
      e = e->next;
    } else {
      // A response of a pending operation: it had to be linearized by now. Backtrack.
      if (undo.empty()) {
        out.outcome = wgl_outcome::not_linearizable;
        break;
      }
      frame f = std::move(undo.back());
      undo.pop_back();
      config.state = std::move(f.before);
      flip(f.call->op);
      wgl_detail::relink(f.call);
      e = f.call->next;
    }
  }
  out.configurations = seen.size();
  return out;
}

}  // namespace tickring::lincheck
