#include "server/stream/ws_session.h"

#include <spdlog/spdlog.h>

#include <array>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <deque>
#include <unordered_map>

#include "protocol/json_text.h"
#include "protocol/stream_messages.h"
#include "server/ingest/ingest.h"
#include "server/stream/hub.h"
#include "server/stream/subscription.h"

namespace tickring::server::stream {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

constexpr std::chrono::seconds kHandshakeTimeout{30};
// A `points` frame stops growing past this many bytes of points (and at the subscription's
// `batch` count), so one frame never holds up a connection for long.
constexpr std::size_t kMaxBatchBytes = 256 * 1024;
constexpr std::string_view kBatchSeparator = ",{";
constexpr std::string_view kBatchEnd = "]}";

}  // namespace

class ws_session : public std::enable_shared_from_this<ws_session>, public outbox_port {
 public:
  ws_session(tcp::socket&& socket, stream_context& ctx, std::shared_ptr<void> slot)
      : ws_(std::move(socket)), ctx_(ctx), slot_(std::move(slot)) {
    ctx_.counters.clients.fetch_add(1, std::memory_order_relaxed);
    ctx_.counters.clients_total.fetch_add(1, std::memory_order_relaxed);
  }
  ~ws_session() override {
    if (inbox_) inbox_->close();
    for (auto& [id, sub] : subs_)
      forget(*sub);
    ctx_.counters.queued_bytes.fetch_sub(queued_bytes_, std::memory_order_relaxed);
    ctx_.counters.clients.fetch_sub(1, std::memory_order_relaxed);
  }

  void run(beast::http::request<beast::http::string_body>&& req) {
    std::weak_ptr<ws_session> weak = weak_from_this();
    auto ex = ws_.get_executor();
    inbox_ = std::make_shared<session_inbox>(ctx_.limits.inbox_capacity, [weak, ex] {
      asio::post(ex, [weak] {
        if (auto self = weak.lock()) self->drain();
      });
    });
    websocket::stream_base::timeout t{};
    t.handshake_timeout = kHandshakeTimeout;
    t.idle_timeout = ctx_.limits.idle_timeout;
    t.keep_alive_pings = true;
    ws_.set_option(t);
    ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
      res.set(beast::http::field::server, "tickring/0.1");
    }));
    ws_.read_message_max(ctx_.limits.max_message_bytes);
    ws_.async_accept(req, [self = shared_from_this()](beast::error_code ec) {
      if (ec) return;
      self->read_more();
    });
  }

  // Shutdown: close with 1001 once what is queued ahead of the close is written.
  void go_away() {
    asio::dispatch(ws_.get_executor(), [self = shared_from_this()] {
      if (self->closing_) return;
      self->closing_ = true;
      self->ws_.async_close(websocket::close_code::going_away, [self](beast::error_code) {});
    });
  }

  // ---- outbox_port ----
  void push_live(series_view* view, std::string head, record_ptr body, bool point) override {
    if (closing_) return;
    const std::size_t bytes = head.size() + (body ? body->body.size() : 0);
    const auto& lim = ctx_.limits;
    if (outbox_.size() >= lim.queue_messages || queued_bytes_ + bytes > lim.queue_bytes) {
      if (lim.policy == slow_policy::close) {
        ctx_.counters.slow_closes.fetch_add(1, std::memory_order_relaxed);
        return close_with(websocket::close_code::policy_error, "client too slow");
      }
      // Conflate: this series' queued messages are skipped when they reach the front (O(1)
      // here, however long the queue); the view says `lagged` and sends a fresh snapshot once
      // the queue has drained to half.
      const std::uint64_t removed = view->queued();
      view->lag(removed + 1);
      lagged_ = true;
      ctx_.counters.conflations.fetch_add(1, std::memory_order_relaxed);
      ctx_.counters.dropped.fetch_add(removed + 1, std::memory_order_relaxed);
      return;
    }
    const std::size_t batch = point ? current_batch_ : 0;
    view->on_queued();
    enqueue({std::move(head), std::move(body), view, current_sub_, bytes, batch, view->epoch()});
  }
  void push_control(std::string message) override {
    if (closing_) return;
    const std::size_t bytes = message.size();
    enqueue({std::move(message), nullptr, nullptr, current_sub_, bytes, 0, 0});
  }

 private:
  struct out_msg {
    std::string head;
    record_ptr body;
    series_view* view;  // live messages: for conflation
    std::int64_t sub;
    std::size_t bytes;
    std::size_t batch;     // > 0: a point that may share a `points` frame with this many at most
    std::uint64_t epoch;   // the view's epoch when queued (stale once the view lagged)
    bool dropped = false;  // its subscription ended: skipped, not sent

    bool stale() const { return dropped || (view != nullptr && epoch != view->epoch()); }
  };

  // Takes the front message off the queue.
  void pop_front() {
    const out_msg& m = outbox_.front();
    if (m.view != nullptr && !m.stale()) m.view->on_unqueued();  // a dropped one has no view
    account(-static_cast<std::int64_t>(m.bytes));
    outbox_.pop_front();
  }

  void account(std::int64_t delta) {
    queued_bytes_ = static_cast<std::size_t>(static_cast<std::int64_t>(queued_bytes_) + delta);
    if (delta >= 0) {
      ctx_.counters.queued_bytes.fetch_add(static_cast<std::uint64_t>(delta),
                                           std::memory_order_relaxed);
    } else {
      ctx_.counters.queued_bytes.fetch_sub(static_cast<std::uint64_t>(-delta),
                                           std::memory_order_relaxed);
    }
  }

  void enqueue(out_msg&& m) {
    account(static_cast<std::int64_t>(m.bytes));
    outbox_.push_back(std::move(m));
    do_write();
  }

  void do_write() {
    if (writing_ || closing_) return;
    while (!outbox_.empty() && outbox_.front().stale())
      pop_front();  // conflated away
    check_room();   // may queue lagged notices and snapshots
    if (writing_ || outbox_.empty()) return;
    writing_ = true;
    const out_msg& m = outbox_.front();
    in_flight_ = 1;
    ws_.text(true);
    if (m.batch > 1 && outbox_.size() > 1 && outbox_[1].batch > 1 && outbox_[1].sub == m.sub) {
      // Consecutive points of one batching subscription: one `points` frame, gathered from
      // the shared bodies without copying them ({"type":"points","id":N,"points":[{...},...]}).
      batch_head_.clear();
      protocol::append_message_head(batch_head_, "points", m.sub);
      batch_head_ += "\"points\":[{";
      gather_.clear();
      gather_.push_back(asio::buffer(batch_head_));
      std::size_t bytes = 0;
      std::size_t items = 0;
      in_flight_ = 0;
      while (in_flight_ < outbox_.size() && items < m.batch && bytes < kMaxBatchBytes) {
        const out_msg& n = outbox_[in_flight_];
        if (n.batch <= 1 || n.sub != m.sub) break;
        ++in_flight_;
        if (n.stale()) continue;  // taken off with the others, not sent
        if (items != 0) gather_.push_back(asio::buffer(kBatchSeparator));
        gather_.push_back(asio::buffer(n.body->body));
        bytes += n.body->body.size();
        ++items;
      }
      gather_.push_back(asio::buffer(kBatchEnd));
      ws_.async_write(gather_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
        self->on_write(ec);
      });
      return;
    }
    std::array<asio::const_buffer, 2> bufs{
        asio::buffer(m.head), m.body ? asio::buffer(m.body->body) : asio::const_buffer()};
    ws_.async_write(bufs, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      self->on_write(ec);
    });
  }

  void on_write(beast::error_code ec) {
    writing_ = false;
    for (std::size_t i = 0; i < in_flight_ && !outbox_.empty(); ++i)
      pop_front();
    if (ec) return;
    ctx_.counters.messages_sent.fetch_add(in_flight_, std::memory_order_relaxed);
    in_flight_ = 0;
    do_write();
    if (read_paused_ && !over_half()) {
      read_paused_ = false;
      if (!closing_) do_read();
    }
  }

  bool over_bound() const {
    return outbox_.size() >= ctx_.limits.queue_messages || queued_bytes_ >= ctx_.limits.queue_bytes;
  }
  bool over_half() const {
    return outbox_.size() >= ctx_.limits.queue_messages / 2 ||
           queued_bytes_ >= ctx_.limits.queue_bytes / 2;
  }

  // Reads the next client message unless the queue is over its bound: a client that sends
  // requests (each may queue a snapshot, which is never conflated) but does not read the
  // answers is not read from until it has read half of them, so what it can make the server
  // hold is bounded by the queue's bounds plus one message.
  void read_more() {
    if (closing_) return;
    if (over_bound()) {
      read_paused_ = true;
      ctx_.counters.read_pauses.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    do_read();
  }

  // Lagged views resync once the queue has drained to half (called whenever it shrank).
  void check_room() {
    if (!lagged_ || over_half()) return;
    lagged_ = false;
    // May run inside drain() (through enqueue): keep the subscription drain() is serving.
    const auto saved_sub = current_sub_;
    const auto saved_batch = current_batch_;
    for (auto& [id, sub] : subs_) {
      current_sub_ = id;
      current_batch_ = sub->request().batch;
      sub->on_room(*this);
      lagged_ = lagged_ || sub->has_lagged();
    }
    current_sub_ = saved_sub;
    current_batch_ = saved_batch;
  }

  void do_read() {
    ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      self->on_read(ec);
    });
  }

  void on_read(beast::error_code ec) {
    if (ec) return;  // closed, timed out, too big (Beast answered 1009), or reset
    if (!ws_.got_text()) {
      buffer_.consume(buffer_.size());
      return bad({protocol::stream_error_code::binary_frame,
                  "binary frames are not accepted; send JSON text",
                  {}});
    }
    const auto data = buffer_.cdata();
    const std::string_view text(static_cast<const char*>(data.data()), data.size());
    auto parsed = protocol::parse_client_message(text, ctx_.limits.max_snapshot);
    buffer_.consume(buffer_.size());
    if (auto* e = std::get_if<protocol::stream_error>(&parsed)) return bad(std::move(*e));
    auto& msg = std::get<protocol::client_message>(parsed);
    if (auto* s = std::get_if<protocol::subscribe_request>(&msg)) {
      subscribe(std::move(*s));
    } else if (auto* u = std::get_if<protocol::unsubscribe_request>(&msg)) {
      unsubscribe(u->id);
    } else {
      push_control("{\"type\":\"pong\"}");
    }
    read_more();
  }

  void bad(protocol::stream_error e) {
    ctx_.counters.bad_messages.fetch_add(1, std::memory_order_relaxed);
    push_control(protocol::error_message(e));
    if (++bad_ >= ctx_.limits.max_bad_messages) {
      ctx_.counters.abuse_closes.fetch_add(1, std::memory_order_relaxed);
      return close_with(websocket::close_code::policy_error, "too many bad messages");
    }
    read_more();
  }

  void subscribe(protocol::subscribe_request req) {
    using protocol::stream_error_code;
    const auto id = req.id;
    if (subs_.contains(id)) {
      return error({stream_error_code::duplicate_id,
                    "subscription id " + std::to_string(id) + " is in use on this connection", id});
    }
    if (subs_.size() >= ctx_.limits.max_subscriptions) {
      return error({stream_error_code::too_many_subscriptions,
                    "at most " + std::to_string(ctx_.limits.max_subscriptions) +
                        " subscriptions per connection",
                    id});
    }
    if (!req.series.wildcard()) {
      // Fields of an existing series are checked now; a series yet to come takes any.
      if (const auto* s = ctx_.store.find(req.series.measurement, req.series.symbol)) {
        for (const auto& f : req.fields) {
          if (s->field_index(f) < 0) {
            return error({stream_error_code::bad_field,
                          "'" + f + "' is not a field of " + req.series.name(), id});
          }
        }
      }
    }
    auto ref = std::make_shared<subscription_ref>();
    ref->inbox = inbox_;
    ref->id = id;
    ref->spec = req.series;
    ref->since_seq = req.since_seq;
    if (req.series.wildcard()) {
      std::string m;
      protocol::append_message_head(m, "subscribed", id);
      m += "\"series\":";
      protocol::append_json_string(m, req.series.name());
      m += '}';
      push_control(std::move(m));
    }
    subs_.emplace(id, std::make_unique<subscription>(std::move(req), ref));
    ctx_.counters.subscriptions.fetch_add(1, std::memory_order_relaxed);
    hub* h = &ctx_.the_hub;
    ctx_.ingest.post([h, ref] { h->subscribe(ref); });
  }

  void forget(subscription& sub) {
    sub.ref()->active.store(false, std::memory_order_relaxed);
    hub* h = &ctx_.the_hub;
    ctx_.ingest.post([h, ref = sub.ref()] { h->unsubscribe(ref); });
    ctx_.counters.subscriptions.fetch_sub(1, std::memory_order_relaxed);
  }

  void unsubscribe(std::int64_t id) {
    const auto it = subs_.find(id);
    if (it == subs_.end()) {
      return error({protocol::stream_error_code::unknown_id,
                    "no subscription " + std::to_string(id) + " on this connection", id});
    }
    forget(*it->second);
    // Its queued live messages go with it (the views they point to are freed): marked, and
    // taken off when they reach the front (erasing would move the ones being written).
    const std::size_t keep_front = writing_ ? in_flight_ : 0;
    for (std::size_t i = 0; i < outbox_.size(); ++i) {
      out_msg& m = outbox_[i];
      if (m.sub != id || m.view == nullptr) continue;
      m.view = nullptr;
      m.dropped = i >= keep_front;
    }
    subs_.erase(it);
    std::string m;
    protocol::append_message_head(m, "unsubscribed", id);
    m.back() = '}';
    push_control(std::move(m));
  }

  void error(protocol::stream_error e) { push_control(protocol::error_message(e)); }

  void drain() {
    if (inbox_->take(drained_)) {
      // The hub dropped records for this session while its inbox was full: ask for the
      // resync markers now (posted behind what the ingest thread is doing).
      hub* h = &ctx_.the_hub;
      ctx_.ingest.post([h, inbox = inbox_] { h->resync(inbox); });
    }
    for (const inbox_entry& e : drained_) {
      if (closing_) break;
      const auto it = subs_.find(e.sub->id);
      if (it == subs_.end() || it->second->ref() != e.sub) continue;  // unsubscribed since
      current_sub_ = e.sub->id;
      current_batch_ = it->second->request().batch;
      it->second->on_entry(e, *this);
    }
    drained_.clear();
  }

  void close_with(websocket::close_code code, const char* reason) {
    if (closing_) return;
    closing_ = true;
    ws_.async_close(websocket::close_reason(code, reason),
                    [self = shared_from_this()](beast::error_code) {});
  }

  websocket::stream<beast::tcp_stream> ws_;
  stream_context& ctx_;
  std::shared_ptr<void> slot_;
  std::shared_ptr<session_inbox> inbox_;
  beast::flat_buffer buffer_;
  std::unordered_map<std::int64_t, std::unique_ptr<subscription>> subs_;
  std::deque<out_msg> outbox_;
  std::vector<inbox_entry> drained_;
  std::size_t queued_bytes_ = 0;
  std::size_t bad_ = 0;
  std::int64_t current_sub_ = -1;
  std::size_t current_batch_ = 0;
  std::size_t in_flight_ = 0;  // messages of the outbox's front in the write in flight
  std::string batch_head_;
  std::vector<asio::const_buffer> gather_;
  bool writing_ = false;
  bool closing_ = false;
  bool lagged_ = false;
  bool read_paused_ = false;  // over the queue's bound: the client's next message waits

  friend struct stream_context;
};

void stream_context::add(const std::shared_ptr<ws_session>& s) {
  std::lock_guard lock(mutex);
  std::erase_if(sessions, [](const auto& w) { return w.expired(); });
  sessions.push_back(s);
}

void stream_context::close_all() {
  std::lock_guard lock(mutex);
  stopping = true;
  for (auto& w : sessions) {
    if (auto s = w.lock()) s->go_away();
  }
}

void start_ws_session(tcp::socket&& socket,
                      beast::http::request<beast::http::string_body>&& request, stream_context& ctx,
                      std::shared_ptr<void> slot) {
  auto s = std::make_shared<ws_session>(std::move(socket), ctx, std::move(slot));
  {
    std::lock_guard lock(ctx.mutex);
    if (ctx.stopping) return;
  }
  ctx.add(s);
  s->run(std::move(request));
}

}  // namespace tickring::server::stream
