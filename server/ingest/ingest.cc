#include "server/ingest/ingest.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <mutex>
#include <thread>
#include <vector>

#include "core/reclaim.h"
#include "server/ingest/demo_feed.h"
#include "server/ingest/feed_session.h"
#include "server/listen.h"

namespace tickring::server {
namespace asio = boost::asio;
using asio::ip::tcp;

struct ingest_service::impl {
  impl(core::series_store& s, const server_config& c, ingest_counters& k, const token_auth& a)
      : store(s),
        config(c),
        auth(a),
        path(s, k),
        applier(path),
        write_applier(path),
        counters(k),
        acceptor(ioc) {
    // Retention is relative to a series' newest time: only then can a future time do harm.
    if (c.store.max_age > 0) {
      applier.set_max_future_skew(c.max_future_skew.count());
      write_applier.set_max_future_skew(c.max_future_skew.count());
    }
  }

  void do_accept() {
    acceptor.async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
      if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
        spdlog::warn("feed accept: {}", ec.message());
        if (!is_resource_exhaustion(ec)) return do_accept();
        // Out of descriptors: retrying at once would spin (the connection stays in the backlog).
        accept_backoff.expires_after(kAcceptBackoff);
        accept_backoff.async_wait([this](const boost::system::error_code& e) {
          if (!e && acceptor.is_open()) do_accept();
        });
        return;
      }
      boost::system::error_code ignored;
      if (counters.feed_connections_open.load(std::memory_order_relaxed) >=
          config.max_feed_connections) {
        // Over the limit: one line that says why (it fits any socket buffer), then close.
        static constexpr std::string_view kFull =
            "error: too many feed connections (--max-feed-connections); try again later\n";
        asio::write(socket, asio::buffer(kFull), ignored);
        socket.shutdown(tcp::socket::shutdown_both, ignored);
        socket.close(ignored);
        return do_accept();
      }
      socket.set_option(asio::socket_base::receive_buffer_size(4 * 1024 * 1024), ignored);
      auto session = std::make_shared<feed_session>(std::move(socket), applier, counters,
                                                    config.feed_idle_timeout, auth);
      sessions.push_back(session);
      session->start();
      prune();
      do_accept();
    });
  }
  // Ingest thread: no more feed connections; what each has received is applied.
  void close_feeds() {
    boost::system::error_code ignored;
    acceptor.close(ignored);
    accept_backoff.cancel();
    if (demo) demo->stop();
    for (auto& w : sessions) {
      if (auto s = w.lock()) s->drain_and_close();
    }
  }
  // Drops finished sessions from the shutdown list (they hold only a weak reference here).
  void prune() {
    std::erase_if(sessions, [](const auto& w) { return w.expired(); });
  }
  // Frees ring buffers that were outgrown while a reader held them (core/reclaim.h), also
  // when no further buffer is retired; the ingest thread is the rings' writer.
  void schedule_tick() {
    tick_timer.expires_after(kDurableTick);
    tick_timer.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      path.durable()->tick();
      schedule_tick();
    });
  }
  void schedule_reclaim() {
    reclaim_timer.expires_after(std::chrono::milliseconds(100));
    reclaim_timer.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      core::reclaim_now();
      schedule_reclaim();
    });
  }

  core::series_store& store;
  const server_config& config;
  const token_auth& auth;
  write_path path;             // the one way a change enters the store
  line_applier applier;        // TCP feed lines (nanosecond precision)
  line_applier write_applier;  // /write bodies (per-request precision)
  ingest_counters& counters;
  asio::io_context ioc{1};
  tcp::acceptor acceptor;
  asio::steady_timer reclaim_timer{ioc};
  asio::steady_timer tick_timer{ioc};
  asio::steady_timer accept_backoff{ioc};
  std::vector<std::weak_ptr<feed_session>> sessions;  // for shutdown; pruned on accept
  std::unique_ptr<demo_feed> demo;
  std::thread thread;
  bool started = false;
  // Held while a submission is queued and while stop() flips `accepting` and queues its end
  // behind them: a submission is either refused or runs before the thread ends.
  std::mutex submit_mutex;
  bool accepting = true;
  // Bytes of /write bodies handed to this thread and not yet applied.
  std::atomic<std::size_t> queued_write_bytes{0};
};

ingest_service::ingest_service(core::series_store& store, const server_config& config,
                               const token_auth& auth)
    : impl_(std::make_unique<impl>(store, config, counters_, auth)) {}

ingest_service::~ingest_service() {
  stop();
}

void ingest_service::start() {
  auto& m = *impl_;
  open_listener(m.acceptor, m.config.ingest, "line-protocol (--ingest)");
  m.do_accept();
  if (m.config.demo) {
    m.demo = std::make_unique<demo_feed>(m.ioc, m.path, m.config.demo_rate, m.config.demo_symbols);
    m.demo->start();
  }
  m.schedule_reclaim();
  if (m.path.durable() != nullptr) m.schedule_tick();
  m.started = true;
  m.thread = std::thread([&m] {
    auto guard = asio::make_work_guard(m.ioc);
    m.ioc.run();
  });
}

void ingest_service::stop_feeds() {
  auto& m = *impl_;
  if (!m.started) return;
  asio::post(m.ioc, [&m] { m.close_feeds(); });
}

void ingest_service::stop() {
  auto& m = *impl_;
  if (!m.started) return;
  m.started = false;
  {
    std::lock_guard lock(m.submit_mutex);
    m.accepting = false;
    // FIFO: every write accepted before this point runs before the thread stops.
    asio::post(m.ioc, [&m] {
      m.close_feeds();
      m.reclaim_timer.cancel();
      m.tick_timer.cancel();
      m.ioc.stop();
    });
  }
  m.thread.join();
  // Run what was queued behind the stop (write requests already handed over, their
  // completions post to the workers' executors).
  m.ioc.restart();
  m.ioc.poll();
}

std::uint16_t ingest_service::port() const {
  boost::system::error_code ec;
  return impl_->acceptor.local_endpoint(ec).port();
}

void ingest_service::post(std::function<void()> work) {
  asio::post(impl_->ioc, std::move(work));
}

void ingest_service::post_write(std::function<void(write_path&)> work) {
  asio::post(impl_->ioc, [this, work = std::move(work)] { work(impl_->path); });
}

const server_config& ingest_service::config() const {
  return impl_->config;
}

ingest_service::submit_result ingest_service::submit_write(
    std::string body, protocol::precision unit, std::function<void(write_outcome)> done) {
  std::lock_guard lock(impl_->submit_mutex);
  if (!impl_->accepting) return submit_result::stopping;
  // The bodies handed over but not yet applied are bounded: past the budget a /write is
  // answered 503 at once instead of queueing without bound behind a busy ingest thread.
  const std::size_t size = body.size();
  const std::size_t queued = impl_->queued_write_bytes.load(std::memory_order_relaxed);
  if (queued != 0 && queued + size > impl_->config.max_queued_write_bytes) {
    bump(counters_.writes_refused_busy);
    return submit_result::busy;
  }
  impl_->queued_write_bytes.fetch_add(size, std::memory_order_relaxed);
  asio::post(impl_->ioc, [this, size, body = std::move(body), unit, done = std::move(done)] {
    auto& m = *impl_;
    struct release {
      std::atomic<std::size_t>& bytes;
      std::size_t n;
      ~release() { bytes.fetch_sub(n, std::memory_order_relaxed); }
    } released{m.queued_write_bytes, size};
    write_outcome out;
    std::string reason;
    if (!m.path.accepting(out.journal_error)) {
      // Refused whole (nothing applied): the client may send the same body again later.
      m.path.count_rejected(reject_reason::journal_unavailable);
      return done(std::move(out));
    }
    std::size_t line_number = 0;
    const auto now = wall_clock_ns();
    m.write_applier.set_precision(unit);
    protocol::for_each_line(
        body,
        [&](std::string_view line) {
          ++line_number;
          if (m.write_applier.apply(line, line_number, now, reason)) {
            ++out.accepted;
            return;
          }
          if (out.rejected++ < kMaxReportedErrors) {
            fmt::format_to(std::back_inserter(out.first_errors), "line {}: {}\n", line_number,
                           reason);
          }
        },
        true);
    bump(counters_.http_lines_accepted, out.accepted);
    if (durable_sink* d = m.path.durable()) {
      return d->commit([done, out = std::move(out)](bool ok, const std::string& why) mutable {
        if (!ok) out.journal_error = why;
        done(std::move(out));
      });
    }
    done(std::move(out));
  });
  return submit_result::queued;
}

bool ingest_service::submit_remove(const core::series* s, core::time_ns t,
                                   std::function<void(remove_outcome)> done) {
  std::lock_guard lock(impl_->submit_mutex);
  if (!impl_->accepting) return false;
  asio::post(impl_->ioc, [this, s, t, done = std::move(done)] {
    auto& path = impl_->path;
    remove_outcome out;
    if (!path.accepting(out.journal_error)) return done(std::move(out));
    const auto r = path.remove(*s, t);
    if (r) out.seq = r->seq;
    if (durable_sink* d = path.durable(); d != nullptr && r) {
      return d->commit([done, out = std::move(out)](bool ok, const std::string& why) mutable {
        if (!ok) out.journal_error = why;
        done(std::move(out));
      });
    }
    done(std::move(out));
  });
  return true;
}

void ingest_service::set_durable(durable_sink* sink) {
  impl_->path.set_durable(sink);
}

void ingest_service::replay(const std::function<void(write_path&)>& run) {
  run(impl_->path);
}

void ingest_service::add_sink(change_sink* sink) {
  impl_->path.add_sink(sink);
}

}  // namespace tickring::server
