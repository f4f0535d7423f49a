// tickring-server: wires the parts together (docs/design.md "Threads").
//   feed thread: the TCP feed's connections, reading and parsing (ingest.h);
//   ingest thread: one io_context, one thread (ingest.h) — the only writer;
//   workers: --workers io_contexts, one thread each — HTTP sessions, one strand each, every
//   connection on one of them (listener.h); signals and timers on the first;
//   SIGINT/SIGTERM: stop accepting (the HTTP backlog is still served), apply what the feeds
//   delivered, answer every request received (writes are applied first), then stop the
//   ingest thread, then the workers; exit 0 within kShutdownGrace.
#include <spdlog/async.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdio>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <thread>
#include <vector>

#include "server/auth.h"
#include "server/cluster/log_consumer.h"
#include "server/config.h"
#include "server/http/listener.h"
#include "server/http/router.h"
#include "server/ingest/ingest.h"
#include "server/journal/journal.h"
#include "server/listen.h"
#include "server/stream/hub.h"
#include "server/thread_name.h"

namespace {

using namespace tickring;
namespace asio = boost::asio;

// Asynchronous, so that a slow terminal never stalls the ingest thread; bounded queue, and
// when it is full the oldest message is dropped rather than blocking. Each slot is a ~400-byte
// message buffer allocated up front: 1,024 of them (400 KB) absorb any burst the server logs
// (bad lines are logged only for the first few per connection), 8,192 would be 3.3 MB of
// resident memory for nothing.
constexpr std::size_t kLogQueue = 1024;

// --busy-poll (server/config.h, kDefaultBusyPoll): after each event the worker keeps polling
// its sockets (epoll with a zero timeout, timers included) for `window` before it blocks
// again, as Seastar's reactor does before it sleeps (--idle-poll-time-us).
void run_busy_polling(asio::io_context& ioc, std::chrono::microseconds window) {
  using clock = std::chrono::steady_clock;
  auto last = clock::now();
  for (;;) {
    if (ioc.poll() > 0) {
      last = clock::now();
      continue;
    }
    if (ioc.stopped()) return;
    if (clock::now() - last > window) {
      if (ioc.run_one() == 0) return;  // stopped
      last = clock::now();
    }
  }
}

void setup_logging(const std::string& level) {
  auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  spdlog::init_thread_pool(kLogQueue, 1);
  auto logger = std::make_shared<spdlog::async_logger>(
      "tickring", sink, spdlog::thread_pool(), spdlog::async_overflow_policy::overrun_oldest);
  spdlog::set_default_logger(logger);
  const auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off") {
    throw std::invalid_argument("invalid --log-level '" + level + "'");
  }
  spdlog::set_level(lvl);
}

// Stops logging: joins the logging thread (which first writes every queued message) before
// the loggers are destroyed. spdlog::shutdown alone destroys the logger first and joins after;
// the logging thread is done with it by then, but through reference counts inside the
// uninstrumented libspdlog, which ThreadSanitizer cannot see: it reported a race at exit in
// every server that had logged a line.
void stop_logging() {
  spdlog::details::registry::instance().set_tp(nullptr);
  spdlog::shutdown();
}

// Polls until every HTTP connection is gone (each answered what it had sent) or the grace
// period is over; then stops the ingest thread (it runs every write handed to it first, and
// refuses later ones with 503) and last the workers. Joining the ingest thread here blocks one
// worker, but no connection is left to serve by then.
void finish_when_drained(asio::steady_timer& timer, server::http_listener& http,
                         server::ingest_service& ingest, const std::function<void()>& stop_workers,
                         std::chrono::steady_clock::time_point deadline) {
  timer.expires_after(std::chrono::milliseconds(20));
  timer.async_wait([&, deadline](const boost::system::error_code&) {
    if (http.open_connections() == 0 || std::chrono::steady_clock::now() >= deadline) {
      if (http.open_connections() != 0) {
        spdlog::warn("shutdown: closing {} connections after the grace period",
                     http.open_connections());
      }
      ingest.stop();
      stop_workers();
      return;
    }
    finish_when_drained(timer, http, ingest, stop_workers, deadline);
  });
}

int run(const server::server_config& config) {
  // First, so that they are destroyed last: sessions' handlers and the hub's subscriptions
  // hold strands of them. One thread runs each (concurrency hint 1: no thread to wake).
  std::vector<std::unique_ptr<asio::io_context>> pool;
  std::vector<asio::io_context*> pool_ptrs;
  for (unsigned i = 0; i < config.workers; ++i) {
    pool.push_back(std::make_unique<asio::io_context>(1));
    pool_ptrs.push_back(pool.back().get());
  }
  asio::io_context& workers = *pool.front();
  // The first io_context always has work (the acceptor, the signals); the others may have
  // no connection for a while and must not return from run() before the shutdown.
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> keep_running;
  for (std::size_t i = 1; i < pool.size(); ++i)
    keep_running.push_back(asio::make_work_guard(*pool[i]));
  // An io_context opens its epoll, eventfd and timerfd when a first timer or socket uses it.
  // Opened now, they are counted in the descriptor budget (listen.h) and cannot fail later:
  // the first connection dealt to a worker while descriptors run out would otherwise throw
  // from the accept loop instead of waiting for a descriptor.
  std::vector<asio::steady_timer> open_reactors;
  open_reactors.reserve(pool.size());
  for (auto& ioc : pool)
    open_reactors.emplace_back(*ioc);
  const std::function<void()> stop_workers = [&] {
    for (auto& ioc : pool)
      ioc->stop();
  };
  core::series_store store(config.store);
  server::token_auth auth(config.auth_token_file, config.auth_reads);
  server::check_exposure(config, auth.enabled());
  // Before the ingest service, which hands it changes until it is destroyed.
  std::unique_ptr<server::journal::journal> journal;
  server::ingest_service ingest(store, config, auth);
  server::stream::hub hub(store, config.stream.replay, config.stream.replay_bytes);
  ingest.add_sink(&hub);
  if (!config.journal.dir.empty()) {
    // The journal is replayed before any listener opens: nothing is served from a store that
    // is still filling, and /health never answers for half the data.
    journal = std::make_unique<server::journal::journal>(config.journal);
    journal->open();
    ingest.replay([&](server::write_path& path) { journal->replay(path); });
    ingest.set_durable(journal.get());
    journal->start();
  }
  // --nats: the log consumer starts after the ingest thread (it hands messages to it) and
  // stops before it (every message handed over is applied by the ingest thread's stop).
  std::unique_ptr<server::cluster::log_consumer> consumer;
  if (config.cluster.consuming()) {
    std::optional<std::map<std::uint32_t, std::uint64_t>> positions;
    if (journal) positions = journal->log_positions();
    consumer = std::make_unique<server::cluster::log_consumer>(config.cluster, ingest,
                                                               std::move(positions));
  }
  server::stream::stream_context streams(store, ingest, hub, config.stream);
  server::http_metrics metrics;
  core::window_store window(config.window.count(), config.window_max_keys);
  server::router routes(
      {store, ingest, config, metrics, window, &streams, auth, journal.get(), consumer.get()});
  server::http_listener http(pool_ptrs, config, routes, &streams);

  // Everything that takes a descriptor is opened before the listening line is printed: that
  // line means "started", and nothing after it can fail for lack of descriptors.
  asio::signal_set signals(workers, SIGINT, SIGTERM);
  // SIGHUP re-reads the token file (rotation without losing the in-memory store).
  asio::signal_set reload_signal(workers);
  if (auth.enabled()) reload_signal.add(SIGHUP);
  asio::steady_timer drain_timer(workers);
  ingest.start();
  if (consumer) consumer->start();
  http.start();
  const std::string http_at = server::to_string({config.http.host, http.port()});
  const std::string ingest_at = server::to_string({config.ingest.host, ingest.port()});
  std::printf("tickring-server listening http=%s ingest=%s\n", http_at.c_str(), ingest_at.c_str());
  std::fflush(stdout);
  spdlog::info("HTTP on http://{}/, line protocol on tcp://{}, {} workers{}{}", http_at, ingest_at,
               config.workers, config.demo ? ", demo feed on" : "",
               auth.enabled() ? (auth.reads_need_token() ? ", tokens for every request"
                                                         : ", tokens for writes")
                              : "");

  std::function<void()> wait_for_reload = [&] {
    reload_signal.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      std::size_t count = 0;
      const std::string error = auth.reload(count);
      if (error.empty()) {
        spdlog::info("SIGHUP: {} tokens from {}", count, auth.path());
      } else {
        spdlog::error("SIGHUP: {}; the previous {} tokens stay valid", error, count);
      }
      wait_for_reload();
    });
  };
  if (auth.enabled()) wait_for_reload();

  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    spdlog::info("signal {}: shutting down", sig);
    boost::system::error_code ignored;
    reload_signal.cancel(ignored);
    http.stop();
    streams.close_all();
    if (consumer) consumer->stop();
    ingest.stop_feeds();
    finish_when_drained(drain_timer, http, ingest, stop_workers,
                        std::chrono::steady_clock::now() + server::kShutdownGrace);
  });

  // A handler that throws past its session (the HTTP session answers 500 itself) is logged
  // and the worker goes back to work: one bad request never ends the process. Asio allows
  // run() again after an exception left it.
  auto work = [busy_poll = config.busy_poll](asio::io_context& ioc) {
    for (;;) {
      try {
        if (busy_poll.count() > 0) {
          run_busy_polling(ioc, busy_poll);
        } else {
          ioc.run();
        }
        return;
      } catch (const std::exception& e) {
        spdlog::error("worker: unhandled exception: {}", e.what());
      } catch (...) {
        spdlog::error("worker: unhandled exception");
      }
    }
  };
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < pool.size(); ++i)
    threads.emplace_back([&work, &ioc = *pool[i]] {
      tickring::server::name_this_thread("worker");
      work(ioc);
    });
  work(workers);
  for (auto& t : threads)
    t.join();
  if (consumer) consumer->stop();
  ingest.stop();  // already stopped unless a worker threw out of run() at the very end
  if (journal) journal->stop();
  const auto& counters = ingest.counters();
  spdlog::info("stopped: {} lines accepted ({} over HTTP), {} rejected, {} points removed",
               counters.lines_accepted.load(), counters.http_lines_accepted.load(),
               counters.lines_rejected.load(), counters.points_removed.load());
  stop_logging();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::optional<server::server_config> config;
  try {
    config = server::parse_config(argc, argv);
    if (!config) return 0;
    setup_logging(config->log_level);
  } catch (const std::exception& e) {
    std::cerr << "tickring-server: " << e.what() << "\n(see tickring-server --help)\n";
    return 2;
  }
  try {
    server::fit_descriptor_limit(*config);
    return run(*config);
  } catch (const std::exception& e) {
    // Start-up failures (an address in use, too few file descriptors): exit 1 with the reason.
    stop_logging();
    std::cerr << "tickring-server: " << e.what() << "\n";
    return 1;
  }
}
