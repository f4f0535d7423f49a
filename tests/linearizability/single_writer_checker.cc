#include "tests/linearizability/single_writer_checker.h"

#include <sstream>

namespace tickring::lincheck {
namespace {

bool is_read(const op& o) {
  return o.kind != op_kind::put && o.kind != op_kind::remove && o.kind != op_kind::iterate;
}

// A point read with value v carries the seq of the put that wrote v (it keeps it for life);
// any other seq names a change that did not produce this content (e.g. a removal not yet
// committed). Independent of the state, so it holds in every S_j or in none.
bool seq_fits(const op& o, const writer_replay& w) {
  if (o.kind != op_kind::get && o.kind != op_kind::lowest && o.kind != op_kind::highest) {
    return true;
  }
  return o.value == kAbsent || o.value == kTorn || w.seq_of(o.value) == o.seq;
}

bool end_matches(const op& o, std::pair<std::int64_t, std::uint64_t> end) {
  if (end.second == kAbsent) return o.value == kAbsent;
  return o.key == end.first && o.value == end.second;
}

bool correct_in(const op& o, const writer_replay& w, std::size_t j) {
  switch (o.kind) {
    case op_kind::get:
      return w.value_at(o.key, j) == o.value && seq_fits(o, w);
    case op_kind::size:
      return w.size_at(j) == o.value;
    case op_kind::lowest:
      return end_matches(o, w.lowest_at(j)) && seq_fits(o, w);
    case op_kind::highest:
      return end_matches(o, w.highest_at(j)) && seq_fits(o, w);
    case op_kind::committed:
      return w.committed_at(j) == o.value;
    case op_kind::put:
    case op_kind::remove:
    case op_kind::iterate:
      break;
  }
  return false;
}

bool correct_in_window(const op& o, const writer_replay& w, std::size_t lo, std::size_t hi) {
  if (o.kind == op_kind::get) return w.holds_somewhere(o.key, o.value, lo, hi) && seq_fits(o, w);
  for (std::size_t j = lo; j <= hi; ++j) {
    if (correct_in(o, w, j)) return true;
  }
  return false;
}

std::string value_name(std::uint64_t v) {
  if (v == kAbsent) return "none";
  if (v == kTorn) return "torn";
  return "v" + std::to_string(v);
}

}  // namespace

void verdict::add(std::size_t thread, std::size_t index, std::string why) {
  ok = false;
  ++count;
  if (violations.size() < kMaxReported) violations.push_back({thread, index, std::move(why)});
}

std::string verdict::summary() const {
  std::ostringstream s;
  s << (ok ? "linearizable" : "NOT linearizable") << ": " << reads << " reads (" << concurrent_reads
    << " concurrent with a write)";
  if (!ok) {
    s << ", " << count << " violation(s)";
    for (const auto& v : violations)
      s << "\n  - " << v.why;
  }
  return s.str();
}

std::string explain_read(const history& h, const writer_replay& w, std::size_t thread,
                         std::size_t index) {
  const op& o = h.threads[thread].ops[index];
  const auto [lo, hi] = w.window(o.inv, o.resp);
  std::ostringstream s;
  s << describe(h, thread, index) << "; while it ran the map could be S_" << lo << "..S_" << hi
    << ", where ";
  auto end_name = [](std::pair<std::int64_t, std::uint64_t> e) {
    return e.second == kAbsent ? std::string("none")
                               : "(" + std::to_string(e.first) + ", " + value_name(e.second) + ")";
  };
  if (o.kind == op_kind::get) {
    s << "time " << o.key << " holds";
    for (const auto v : w.values_between(o.key, lo, hi))
      s << ' ' << value_name(v);
  } else {
    s << (o.kind == op_kind::size        ? "the size is"
          : o.kind == op_kind::committed ? "the committed seq is"
          : o.kind == op_kind::lowest    ? "the lowest is"
                                         : "the highest is");
    for (std::size_t j = lo; j <= hi && j < lo + 8; ++j) {
      if (o.kind == op_kind::size) s << ' ' << w.size_at(j);
      if (o.kind == op_kind::committed) s << ' ' << w.committed_at(j);
      if (o.kind == op_kind::lowest) s << ' ' << end_name(w.lowest_at(j));
      if (o.kind == op_kind::highest) s << ' ' << end_name(w.highest_at(j));
    }
  }
  if (!seq_fits(o, w)) {
    s << "; it returned seq " << o.seq << ", but " << value_name(o.value) << " was written by seq "
      << w.seq_of(o.value);
  }
  const auto& writer = h.threads[0].ops;
  for (std::size_t j = lo; j <= hi && j < writer.size() && j < lo + 4; ++j) {
    s << "\n      " << describe(h, 0, j) << " (makes S_" << j + 1 << ')';
  }
  return s.str();
}

verdict check_linearizable(const history& h, const writer_replay& w) {
  verdict out;
  const std::size_t threads = h.threads.size();
  std::vector<std::size_t> head(threads, 0);
  auto done = [&](std::size_t t) { return head[t] == h.threads[t].ops.size(); };
  auto current = [&](std::size_t t) -> const op& { return h.threads[t].ops[head[t]]; };
  auto skip_iterators = [&](std::size_t t) {
    while (!done(t) && current(t).kind == op_kind::iterate)
      ++head[t];
  };
  // Minimal: no other pending operation answered before this one was invoked. Only heads
  // need looking at: a thread's later operations answer later still.
  auto minimal = [&](std::size_t t) {
    const ticket inv = current(t).inv;
    for (std::size_t u = 0; u < threads; ++u) {
      if (u != t && !done(u) && current(u).resp < inv) return false;
    }
    return true;
  };
  auto place = [&](std::size_t t) {
    ++head[t];
    skip_iterators(t);
  };
  for (std::size_t t = 0; t < threads; ++t)
    skip_iterators(t);

  std::size_t j = 0;  // writer operations placed so far: the state is S_j
  std::vector<std::pair<std::size_t, std::size_t>> needed_by(w.writes() + 1, {0, 0});
  for (;;) {
    for (bool placed = true; placed;) {
      placed = false;
      for (std::size_t t = 1; t < threads; ++t) {
        while (!done(t) && minimal(t) && correct_in(current(t), w, j)) {
          place(t);
          placed = true;
        }
      }
    }
    if (!done(0) && minimal(0)) {
      // For reports: a pending read that S_j cannot explain is what makes op j+1 go next.
      for (std::size_t t = 1; t < threads; ++t) {
        if (!done(t) && minimal(t)) {
          needed_by[j + 1] = {t, head[t]};
          break;
        }
      }
      place(0);
      ++j;
      continue;
    }
    // Stuck: some read is pending that cannot take effect in S_j, and (fact 2) nothing else
    // may go first. The pending read that answered first is minimal: report and drop it.
    std::size_t culprit = threads;
    for (std::size_t t = 1; t < threads; ++t) {
      if (!done(t) && (culprit == threads || current(t).resp < current(culprit).resp)) {
        culprit = t;
      }
    }
    if (culprit == threads) break;  // every operation placed
    // The state cannot go back to before S_j: name the read that required S_j, which answered
    // before this one or ran in this one's thread before it.
    std::string why = "cannot take effect in S_" + std::to_string(j) +
                      " or later: " + explain_read(h, w, culprit, head[culprit]);
    if (const auto [t, i] = needed_by[j]; t != 0) {
      why += "\n      S_" + std::to_string(j) + " was required by " + describe(h, t, i);
    }
    out.add(culprit, head[culprit], std::move(why));
    place(culprit);
  }
  for (std::size_t t = 1; t < threads; ++t) {
    for (const op& o : h.threads[t].ops) {
      if (!is_read(o)) continue;
      ++out.reads;
      const auto [lo, hi] = w.window(o.inv, o.resp);
      if (lo < hi) ++out.concurrent_reads;
    }
  }
  return out;
}

verdict check_reads_in_window(const history& h, const writer_replay& w) {
  verdict out;
  for (std::size_t t = 1; t < h.threads.size(); ++t) {
    const auto& ops = h.threads[t].ops;
    for (std::size_t i = 0; i < ops.size(); ++i) {
      if (!is_read(ops[i])) continue;
      ++out.reads;
      const auto [lo, hi] = w.window(ops[i].inv, ops[i].resp);
      if (lo < hi) ++out.concurrent_reads;
      if (!correct_in_window(ops[i], w, lo, hi)) {
        out.add(t, i, "matches no state of its window: " + explain_read(h, w, t, i));
      }
    }
  }
  return out;
}

}  // namespace tickring::lincheck
