#include "server/cluster/log_consumer.h"

#include <fmt/format.h>
#include <nats/nats.h>
#include <spdlog/spdlog.h>

#include <stdexcept>

#include "protocol/line_protocol.h"
#include "protocol/text.h"
#include "server/ingest/write_path.h"

namespace tickring::server::cluster {

std::string_view to_string(link_state s) {
  switch (s) {
    case link_state::connecting:
      return "connecting";
    case link_state::connected:
      return "connected";
    case link_state::reconnecting:
      return "reconnecting";
    case link_state::closed:
      return "closed";
  }
  return "unknown";
}

struct log_consumer::subscription {
  log_consumer* owner;
  partition_status* part;
  natsSubscription* sub = nullptr;
};

namespace {

std::string nats_error(natsStatus s, jsErrCode jerr = static_cast<jsErrCode>(0)) {
  const char* last = nats_GetLastError(nullptr);
  std::string text = natsStatus_GetText(s);
  if (jerr != 0) text += fmt::format(" (JetStream error {})", static_cast<int>(jerr));
  if (last != nullptr && *last != '\0') text += fmt::format(": {}", last);
  return text;
}

// A stream whose subjects include one of these takes every `<prefix>.<n>`.
bool covers(const char* subject, const std::string& prefix) {
  const std::string_view s(subject);
  return s == ">" || s == prefix + ".*" || s == prefix + ".>";
}

}  // namespace

struct nats_callbacks {
  static void message(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
    auto* sub = static_cast<log_consumer::subscription*>(closure);
    sub->owner->deliver(*sub, msg);
  }
  static void disconnected(natsConnection*, void* closure) {
    auto* self = static_cast<log_consumer*>(closure);
    if (self->state_.load() != link_state::closed) {
      self->state_.store(link_state::reconnecting);
      spdlog::warn("nats: disconnected; reconnecting (reads are still served)");
    }
  }
  static void reconnected(natsConnection*, void* closure) {
    auto* self = static_cast<log_consumer*>(closure);
    self->reconnects_.fetch_add(1);
    self->state_.store(link_state::connected);
    spdlog::info("nats: reconnected");
  }
  static void connected(natsConnection*, void* closure) {
    auto* self = static_cast<log_consumer*>(closure);
    self->state_.store(link_state::connected);
    spdlog::info("nats: connected to {}", self->options_.nats_url);
    self->control_cv_.notify_all();
  }
  static void closed(natsConnection*, void* closure) {
    auto* self = static_cast<log_consumer*>(closure);
    // The library's last callback for the connection; stop() waits for it before `self` goes.
    std::lock_guard lk(self->mu_);
    self->state_.store(link_state::closed);
    self->closed_ = true;
    self->control_cv_.notify_all();
  }
  static void async_error(natsConnection*, natsSubscription*, natsStatus err, void* closure) {
    auto* self = static_cast<log_consumer*>(closure);
    self->errors_.fetch_add(1);
    // A slow consumer drop is a gap that the ordered consumer repairs by starting again after
    // the last message it delivered; nothing is lost.
    spdlog::warn("nats: {}", natsStatus_GetText(err));
  }
};

log_consumer::log_consumer(const cluster_options& options, ingest_service& ingest,
                           std::optional<std::map<std::uint32_t, std::uint64_t>> positions)
    : options_(options), ingest_(ingest), positions_(std::move(positions)) {
  for (const std::uint32_t p : options_.owned.list()) {
    auto part = std::make_unique<partition_status>();
    part->partition = p;
    if (positions_) {
      if (const auto it = positions_->find(p); it != positions_->end())
        part->applied_seq.store(it->second);
    }
    subs_.push_back(std::make_unique<subscription>(subscription{this, part.get()}));
    parts_.push_back(std::move(part));
  }
}

log_consumer::~log_consumer() {
  stop();
  // Messages the journal still refused when the ingest thread stopped (it has stopped now).
  for (const held& h : stalled_)
    natsMsg_Destroy(h.msg);
}

void log_consumer::set_error(std::string error) {
  std::lock_guard lk(error_mu_);
  last_error_ = std::move(error);
}

std::string log_consumer::last_error() const {
  std::lock_guard lk(error_mu_);
  return last_error_;
}

void log_consumer::start() {
  natsOptions* opts = nullptr;
  natsStatus s = natsOptions_Create(&opts);
  // A comma-separated list is several servers of one NATS cluster: the library's SetURL takes
  // one URL, SetServers the list (it tries them all and learns the rest from the cluster).
  const std::vector<std::string> urls = protocol::split_list(options_.nats_url);
  std::vector<const char*> list;
  for (const auto& u : urls)
    list.push_back(u.c_str());
  if (list.empty()) throw std::runtime_error("--nats: no URL");
  if (s == NATS_OK) s = natsOptions_SetServers(opts, list.data(), static_cast<int>(list.size()));
  if (s == NATS_OK) s = natsOptions_SetName(opts, "tickring-server");
  // Forever, also for the first connection: the server keeps serving reads meanwhile.
  if (s == NATS_OK) s = natsOptions_SetMaxReconnect(opts, -1);
  if (s == NATS_OK) s = natsOptions_SetReconnectWait(opts, 250);
  if (s == NATS_OK)
    s = natsOptions_SetRetryOnFailedConnect(opts, true, &nats_callbacks::connected, this);
  if (s == NATS_OK) s = natsOptions_SetDisconnectedCB(opts, &nats_callbacks::disconnected, this);
  if (s == NATS_OK) s = natsOptions_SetReconnectedCB(opts, &nats_callbacks::reconnected, this);
  if (s == NATS_OK) s = natsOptions_SetClosedCB(opts, &nats_callbacks::closed, this);
  if (s == NATS_OK) s = natsOptions_SetErrorHandler(opts, &nats_callbacks::async_error, this);
  if (s != NATS_OK) {
    natsOptions_Destroy(opts);
    throw std::runtime_error("--nats " + options_.nats_url + ": " + nats_error(s));
  }
  s = natsConnection_Connect(&conn_, opts);
  natsOptions_Destroy(opts);
  if (s == NATS_OK) {
    state_.store(link_state::connected);
  } else if (s == NATS_NOT_YET_CONNECTED) {
    spdlog::warn("nats: {} not reachable yet; retrying in the background", options_.nats_url);
  } else {
    throw std::runtime_error("--nats " + options_.nats_url + ": " + nats_error(s));
  }
  if (natsConnection_JetStream(&js_, conn_, nullptr) != NATS_OK) {
    throw std::runtime_error("--nats: cannot create a JetStream context");
  }
  if (!positions_) {
    spdlog::warn("nats: no journal (--data-dir): replaying partitions {} of stream {} from {}",
                 options_.owned.to_string(), options_.stream,
                 options_.start_time_ns ? fmt::format("time {} ns", *options_.start_time_ns)
                                        : std::string("its start"));
  }
  started_ = true;
  control_ = std::thread([this] { run_control(); });
}

void log_consumer::stop() {
  if (!started_) return;
  started_ = false;
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  control_cv_.notify_all();
  control_.join();
  for (auto& sub : subs_) {
    if (sub->sub != nullptr) natsSubscription_Unsubscribe(sub->sub);
  }
  // A delivery thread may be inside the callback (waiting for room): it sees `stopping_`.
  while (in_callback_.load() != 0)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  for (auto& sub : subs_) {
    natsSubscription_Destroy(sub->sub);
    sub->sub = nullptr;
  }
  jsCtx_Destroy(js_);
  js_ = nullptr;
  natsConnection_Close(conn_);
  {
    // The library runs the closed callback on its own thread, after Close returns.
    std::unique_lock lk(mu_);
    if (!control_cv_.wait_for(lk, kCloseWait, [this] { return closed_; }))
      spdlog::warn("nats: the connection did not report closing within {} s", kCloseWait.count());
  }
  natsConnection_Destroy(conn_);
  conn_ = nullptr;
}

// ---------------------------------------------------------------- control thread

bool log_consumer::ensure_stream(std::string& error) {
  jsStreamInfo* si = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_GetStreamInfo(&si, js_, options_.stream.c_str(), nullptr, &jerr);
  if (s == NATS_NOT_FOUND || jerr == JSStreamNotFoundErr) {
    const std::string subject = options_.subject_prefix + ".*";
    const char* subjects[] = {subject.c_str()};
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    cfg.Name = options_.stream.c_str();
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    cfg.Replicas = static_cast<int64_t>(options_.replicas);
    cfg.Duplicates = std::chrono::duration_cast<std::chrono::nanoseconds>(kDuplicateWindow).count();
    jerr = static_cast<jsErrCode>(0);
    s = js_AddStream(&si, js_, &cfg, nullptr, &jerr);
    if (s == NATS_OK) {
      spdlog::info("nats: created stream {} (subjects {}, {} replica(s), file storage)",
                   options_.stream, subject, options_.replicas);
    } else if (jerr == JSStreamNameExistErr) {
      // A publisher created it meanwhile: check what it made.
      jerr = static_cast<jsErrCode>(0);
      s = js_GetStreamInfo(&si, js_, options_.stream.c_str(), nullptr, &jerr);
    }
  }
  if (s != NATS_OK) {
    error = fmt::format("stream {}: {}", options_.stream, nats_error(s, jerr));
    return false;
  }
  // A journal position past the stream's end: the stream was deleted and made again (its
  // sequences restarted). Resuming there would wait for sequences that mean other messages.
  for (const auto& part : parts_) {
    const std::uint64_t at = part->applied_seq.load();
    if (at > si->State.LastSeq) {
      spdlog::error(
          "nats: partition {} was applied up to sequence {}, past the end of stream {} ({}): "
          "was the stream made again? Only messages after {} will be applied; start on an "
          "empty --data-dir to replay the stream",
          part->partition, at, options_.stream, si->State.LastSeq, at);
    }
  }
  bool ok = false;
  std::string have;
  for (int i = 0; si->Config != nullptr && i < si->Config->SubjectsLen; ++i) {
    ok = ok || covers(si->Config->Subjects[i], options_.subject_prefix);
    have += (i != 0 ? ", " : "") + std::string(si->Config->Subjects[i]);
  }
  jsStreamInfo_Destroy(si);
  if (!ok) {
    error = fmt::format("stream {} exists with subjects [{}], which do not cover {}.*",
                        options_.stream, have, options_.subject_prefix);
    return false;
  }
  return true;
}

bool log_consumer::subscribe(subscription& sub, std::string& error) {
  const std::uint32_t p = sub.part->partition;
  const std::string subject = options_.subject(p);
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = options_.stream.c_str();
  so.Ordered = true;
  so.Config.Heartbeat = std::chrono::duration_cast<std::chrono::nanoseconds>(kHeartbeat).count();
  // Resume right after what this instance applied; a subscription made again (after a
  // failed attempt) starts after what was applied meanwhile.
  const std::uint64_t applied = sub.part->applied_seq.load();
  const bool has_position = applied != 0 || (positions_ && positions_->contains(p));
  if (has_position) {
    so.Config.DeliverPolicy = js_DeliverByStartSequence;
    so.Config.OptStartSeq = applied + 1;
  } else if (options_.start_time_ns) {
    so.Config.DeliverPolicy = js_DeliverByStartTime;
    so.Config.OptStartTime = *options_.start_time_ns;
  } else {
    so.Config.DeliverPolicy = js_DeliverAll;
  }
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_Subscribe(&sub.sub, js_, subject.c_str(), &nats_callbacks::message, &sub,
                              nullptr, &so, &jerr);
  if (s == NATS_OK) s = natsSubscription_SetPendingLimits(sub.sub, kPendingMessages, kPendingBytes);
  if (s != NATS_OK) {
    if (sub.sub != nullptr) {
      natsSubscription_Unsubscribe(sub.sub);
      natsSubscription_Destroy(sub.sub);
      sub.sub = nullptr;
    }
    error = fmt::format("subscribe {}: {}", subject, nats_error(s, jerr));
    return false;
  }
  sub.part->subscribed.store(true);
  spdlog::info("nats: consuming {} from {}", subject,
               has_position             ? fmt::format("sequence {}", applied + 1)
               : options_.start_time_ns ? fmt::format("time {} ns", *options_.start_time_ns)
                                        : std::string("the stream's start"));
  return true;
}

void log_consumer::run_control() {
  std::unique_lock lk(mu_);
  std::string logged;  // the last setup error logged (the same one is not repeated)
  while (!stopping_) {
    bool all = true;
    for (const auto& sub : subs_)
      all = all && sub->sub != nullptr;
    if (!all && state_.load() == link_state::connected) {
      lk.unlock();
      std::string error;
      bool ok = stream_ready_ || (stream_ready_ = ensure_stream(error));
      for (auto& sub : subs_) {
        if (ok && sub->sub == nullptr) ok = subscribe(*sub, error);
      }
      if (!ok) {
        errors_.fetch_add(1);
        if (error != logged) spdlog::error("nats: {}; retrying", error);
        logged = error;
        set_error(error);
      } else {
        set_error({});
        logged.clear();
      }
      lk.lock();
    }
    if (stalled_count_.load() != 0) {
      ingest_.post_write([this](write_path& path) { drain_stalled(path); });
    }
    control_cv_.wait_for(lk, stalled_count_.load() != 0 ? kStallRetry : kSetupRetry);
  }
}

// ---------------------------------------------------------------- delivery (library thread)

void log_consumer::deliver(subscription& sub, natsMsg* msg) {
  in_callback_.fetch_add(1);
  const std::size_t bytes = static_cast<std::size_t>(natsMsg_GetDataLength(msg)) + 256;
  {
    std::unique_lock lk(mu_);
    // Wait for room: the library stops acknowledging flow control, and JetStream stalls.
    cv_.wait(lk, [&] {
      const auto now = inflight_.load();
      return stopping_ || now == 0 || now + bytes <= kMaxInflightBytes;
    });
    if (stopping_) {
      lk.unlock();
      natsMsg_Destroy(msg);
      in_callback_.fetch_sub(1);
      return;
    }
    inflight_.fetch_add(bytes);
  }
  held h{msg, sub.part, bytes};
  ingest_.post_write([this, h](write_path& path) { apply_held(path, h); });
  in_callback_.fetch_sub(1);
}

void log_consumer::release(std::size_t bytes) {
  {
    std::lock_guard lk(mu_);
    inflight_.fetch_sub(bytes);
  }
  cv_.notify_all();
}

// ---------------------------------------------------------------- ingest thread

void log_consumer::apply_held(write_path& path, held h) {
  std::string why;
  if (!stalled_.empty() || !path.accepting(why)) {
    // In order behind what waits already; the control thread retries every kStallRetry.
    if (stalled_.empty()) spdlog::warn("nats: the journal refuses changes ({}); waiting", why);
    stalled_.push_back(h);
    stalled_count_.store(stalled_.size());
    return;
  }
  apply(path, h);
}

void log_consumer::drain_stalled(write_path& path) {
  std::string why;
  while (!stalled_.empty() && path.accepting(why)) {
    const held h = stalled_.front();
    stalled_.pop_front();
    apply(path, h);
  }
  stalled_count_.store(stalled_.size());
}

void log_consumer::apply(write_path& path, const held& h) {
  partition_status& part = *h.part;
  jsMsgMetaData* meta = nullptr;
  if (natsMsg_GetMetaData(&meta, h.msg) != NATS_OK) {
    // Not a JetStream message (cannot happen on a JetStream subscription): nothing to apply.
    natsMsg_Destroy(h.msg);
    release(h.bytes);
    return;
  }
  const std::uint64_t seq = meta->Sequence.Stream;
  const std::int64_t stamp = meta->Timestamp;
  const std::uint64_t pending = meta->NumPending;
  jsMsgMetaData_Destroy(meta);
  if (seq <= part.applied_seq.load(std::memory_order_relaxed)) {
    bump(part.duplicates);
  } else {
    if (!applier_) {
      applier_ = std::make_unique<line_applier>(path);
      applier_->set_check_accepting(false);
      if (ingest_.config().store.max_age > 0)
        applier_->set_max_future_skew(ingest_.config().max_future_skew.count());
    }
    applier_->expect_partition(part.partition, options_.partition_count);
    const std::string_view body(natsMsg_GetData(h.msg),
                                static_cast<std::size_t>(natsMsg_GetDataLength(h.msg)));
    std::size_t line_number = 0;
    std::uint64_t accepted = 0;
    std::uint64_t rejected = 0;
    std::string reason;
    path.begin_log_batch();
    protocol::for_each_line(
        body,
        [&](std::string_view line) {
          ++line_number;
          // A line without a timestamp takes the message's: a replay stores the same point.
          if (applier_->apply(line, line_number, stamp, reason)) {
            ++accepted;
            return;
          }
          ++rejected;
          const auto now = std::chrono::steady_clock::now();
          if (now - log_window_ >= std::chrono::minutes(1)) {
            log_window_ = now;
            logged_ = 0;
          }
          if (logged_++ < kLoggedRejectsPerMinute) {
            spdlog::warn("nats: {} sequence {} line {}: {}", options_.subject(part.partition), seq,
                         line_number, reason);
          }
        },
        true);
    path.end_log_batch(part.partition, seq);
    part.applied_seq.store(seq, std::memory_order_relaxed);
    part.applied_time_ns.store(stamp, std::memory_order_relaxed);
    bump(part.messages);
    bump(part.lines_accepted, accepted);
    bump(part.lines_rejected, rejected);
  }
  part.pending.store(pending, std::memory_order_relaxed);
  part.known_pending.store(true, std::memory_order_relaxed);
  natsMsg_Destroy(h.msg);
  release(h.bytes);
}

}  // namespace tickring::server::cluster
