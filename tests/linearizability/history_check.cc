#include "tests/linearizability/history_check.h"

#include <chrono>
#include <sstream>

#include "tests/linearizability/iterator_checker.h"
#include "tests/linearizability/single_writer_checker.h"
#include "tests/linearizability/wgl_checker.h"
#include "tests/linearizability/writer_replay.h"

namespace tickring::lincheck {
namespace {

double since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

history_report check_history(const history& h, const check_options& o) {
  const auto start = std::chrono::steady_clock::now();
  history_report r;
  std::ostringstream text;
  text << "history: " << h.threads.size() << " threads, " << h.op_count() << " operations\n";
  if (h.threads.empty()) {
    r.text = "empty history";
    return r;
  }
  const writer_replay w(h.threads[0]);
  text << "writer: " << w.writes() << " operations, " << w.times_touched() << " times touched\n";
  if (w.error()) {
    r.text = text.str() + "writer: " + *w.error() + "\n";
    r.seconds = since(start);
    return r;
  }

  auto t = std::chrono::steady_clock::now();
  const verdict lin = check_linearizable(h, w);
  r.linearizable = lin.ok;
  r.concurrent_reads += lin.concurrent_reads;
  text << "single-writer check: " << lin.summary() << " (" << since(t) << " s)\n";

  r.per_key_ok = true;
  if (o.per_key_search) {
    t = std::chrono::steady_clock::now();
    const per_key_result pk = check_per_key(h, o.max_search_steps);
    r.per_key_ok = pk.ok;
    text << "per-key search: " << pk.summary() << " (" << since(t) << " s)\n";
    if (!pk.ok && lin.ok) {
      // Locality says they must agree on get/put/remove; size only adds constraints to (2).
      text << "CHECKER DISAGREEMENT: the per-key search rejects what the exact check accepts\n";
      r.linearizable = false;
    }
  }

  t = std::chrono::steady_clock::now();
  const iterator_verdict it = check_iterators(h, w);
  r.iterators_ok = it.v.ok;
  r.concurrent_reads += it.v.concurrent_reads;
  text << "iterators: " << (it.v.ok ? "ok" : "VIOLATED") << ": " << it.v.reads << " iterations ("
       << it.v.concurrent_reads << " concurrent with a write), " << it.yielded << " pairs yielded, "
       << it.required << " required times (" << since(t) << " s)";
  for (const auto& v : it.v.violations)
    text << "\n  - " << v.why;
  if (it.v.count > it.v.violations.size()) {
    text << "\n  (" << it.v.count - it.v.violations.size() << " more)";
  }
  text << '\n';

  r.ok = r.linearizable && r.per_key_ok && r.iterators_ok;
  r.seconds = since(start);
  r.text = text.str();
  return r;
}

}  // namespace tickring::lincheck
