#include "client-cli/jetstream_publisher.h"

#include <fmt/format.h>
#include <nats/nats.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <random>
#include <unordered_map>
#include <vector>

#include "client-cli/command.h"
#include "client-cli/partition_batcher.h"
#include "protocol/line_protocol.h"
#include "protocol/partition.h"
#include "protocol/text.h"

namespace tickring::cli {
namespace {

namespace po = boost::program_options;
using clock = std::chrono::steady_clock;

constexpr const char* kMsgIdHeader = "Nats-Msg-Id";
// Room for the headers (NATS counts them in max_payload): "NATS/1.0", the id line and CRLFs
// with a publisher id of at most kMaxPublisherIdBytes.
constexpr std::size_t kHeaderAllowance = 512;
constexpr std::size_t kMaxPublisherIdBytes = 128;
constexpr std::chrono::milliseconds kConnectTimeout{2000};
// How often a waiting owner looks at its due retries and the stall clock.
constexpr std::chrono::milliseconds kWaitSlice{50};
constexpr unsigned kMaxReplicas = 5;  // JetStream's own limit

// A subject token may not hold these (NATS subjects are '.'-separated tokens, wildcards '*'
// and '>'); a stream name may not hold '.' either.
bool valid_token(std::string_view s, bool allow_dot) {
  if (s.empty()) return false;
  return std::none_of(s.begin(), s.end(), [&](char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '*' || c == '>' ||
           (c == '.' && !allow_dot) || static_cast<unsigned char>(c) < 0x20;
  });
}

std::vector<std::string_view> tokens(std::string_view subject) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (;;) {
    const auto dot = subject.find('.', start);
    out.push_back(subject.substr(start, dot - start));
    if (dot == std::string_view::npos) return out;
    start = dot + 1;
  }
}

// Whether every subject `ours` (which may hold '*') matches is also matched by `pattern`.
bool subject_covers(std::string_view pattern, std::string_view ours) {
  const auto p = tokens(pattern);
  const auto o = tokens(ours);
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (p[i] == ">") return i < o.size();
    if (i >= o.size()) return false;
    if (p[i] == "*") continue;
    if (o[i] == "*" || p[i] != o[i]) return false;
  }
  return p.size() == o.size();
}

std::string random_publisher_id() {
  std::random_device rd;
  return fmt::format("{:08x}{:08x}", rd(), rd());
}

// Why acknowledgments may have stopped, when the connection knows.
std::string_view connection_note(natsConnection* nc) {
  switch (natsConnection_Status(nc)) {
    case NATS_CONN_STATUS_RECONNECTING:
      return " (the connection to NATS was lost; still reconnecting)";
    case NATS_CONN_STATUS_CLOSED:
      return " (the connection to NATS is closed)";
    default:
      return "";
  }
}

std::string nats_error_text(natsStatus s) {
  const char* last = nats_GetLastError(nullptr);
  if (last != nullptr && *last != '\0') return last;
  return natsStatus_GetText(s);
}

}  // namespace

struct retry_item {
  std::string subject;
  std::string id;
  std::string payload;
  std::string reason;
  clock::time_point due;
};

struct jetstream_publisher::shared {
  natsConnection* nc = nullptr;
  jsCtx* js = nullptr;
  jsPubOptions pub_options{};

  std::mutex mu;
  std::condition_variable cv;
  // Guarded by mu: written by libnats's thread in on_ack.
  std::size_t outstanding = 0;
  std::uint64_t acked = 0;
  std::uint64_t duplicates = 0;
  clock::time_point last_progress = clock::now();
  std::deque<retry_item> failed;

  // Owner's thread only.
  std::vector<retry_item> scheduled;
  std::unordered_map<std::string, unsigned> failures;  // by message id

  static void on_ack(jsCtx*, natsMsg* msg, jsPubAck* pa, jsPubAckErr* pae, void* closure) {
    auto* s = static_cast<shared*>(closure);
    retry_item item;
    if (pa == nullptr && msg != nullptr) {
      item.subject = natsMsg_GetSubject(msg);
      item.payload.assign(natsMsg_GetData(msg),
                          static_cast<std::size_t>(natsMsg_GetDataLength(msg)));
      const char* id = nullptr;
      if (natsMsgHeader_Get(msg, kMsgIdHeader, &id) == NATS_OK && id != nullptr) item.id = id;
      item.reason = pae == nullptr ? "no acknowledgment"
                    : (pae->ErrText != nullptr && *pae->ErrText != '\0')
                        ? pae->ErrText
                        : natsStatus_GetText(pae->Err);
    }
    {
      const std::lock_guard lock(s->mu);
      if (s->outstanding > 0) --s->outstanding;
      if (pa != nullptr) {
        ++s->acked;
        if (pa->Duplicate) ++s->duplicates;
        s->last_progress = clock::now();
      } else {
        s->failed.push_back(std::move(item));
      }
    }
    s->cv.notify_all();
    natsMsg_Destroy(msg);
  }
};

void add_nats_options(po::options_description& d, nats_settings& s) {
  // clang-format off
  d.add_options()
    ("nats", po::value(&s.url)->value_name("URL"),
       "publish to this NATS JetStream server (nats://host:4222; several: comma-separated)")
    ("stream", po::value(&s.stream)->value_name("NAME")->default_value(s.stream),
       "JetStream stream (created when absent)")
    ("subject-prefix", po::value(&s.subject_prefix)->value_name("P")->default_value(s.subject_prefix),
       "subjects are P.<partition>")
    ("partition-count", po::value(&s.partition_count)->value_name("N")->default_value(s.partition_count),
       "partitions in all (the same N as the servers' --partition-count)")
    ("replicas", po::value(&s.replicas)->value_name("R")->default_value(s.replicas),
       "copies of the stream when this creates it (1..5; a NATS cluster for > 1)")
    ("publisher-id", po::value(&s.publisher_id)->value_name("ID"),
       "message ids are ID:<batch>; give the same ID to make a rerun store nothing twice "
       "within the 2-minute duplicate window (default: random)")
    ("max-pending", po::value(&s.max_pending)->value_name("N")->default_value(s.max_pending),
       "messages in flight before waiting for acknowledgments")
    ("linger", po::value(&s.linger_ms)->value_name("MS")->default_value(s.linger_ms),
       "publish a partition's batch at most MS ms after its first line");
  // clang-format on
}

void check_nats_settings(const nats_settings& s) {
  if (s.partition_count < 1 || s.partition_count > protocol::kMaxPartitions) {
    throw usage_error(fmt::format("--partition-count must be 1..{}, not {}",
                                  protocol::kMaxPartitions, s.partition_count));
  }
  if (s.replicas < 1 || s.replicas > kMaxReplicas) {
    throw usage_error(fmt::format("--replicas must be 1..{}", kMaxReplicas));
  }
  if (!valid_token(s.stream, false)) {
    throw usage_error("--stream: a name without spaces, '.', '*' or '>', not '" + s.stream + "'");
  }
  if (!valid_token(s.subject_prefix, true) || s.subject_prefix.starts_with('.') ||
      s.subject_prefix.ends_with('.')) {
    throw usage_error("--subject-prefix: subject tokens without spaces or wildcards, not '" +
                      s.subject_prefix + "'");
  }
  if (s.publisher_id.size() > kMaxPublisherIdBytes ||
      (!s.publisher_id.empty() && !valid_token(s.publisher_id, true))) {
    throw usage_error(
        fmt::format("--publisher-id: at most {} bytes without spaces or control characters",
                    kMaxPublisherIdBytes));
  }
  if (s.max_pending < 1) throw usage_error("--max-pending must be at least 1");
}

jetstream_publisher::jetstream_publisher(nats_settings settings, log_fn log)
    : settings_(std::move(settings)), log_(std::move(log)), shared_(std::make_unique<shared>()) {
  if (settings_.publisher_id.empty()) settings_.publisher_id = random_publisher_id();
}

jetstream_publisher::~jetstream_publisher() {
  // Close first: no acknowledgment callback runs into `shared_` after this.
  if (shared_->nc != nullptr) natsConnection_Close(shared_->nc);
  if (shared_->js != nullptr) jsCtx_Destroy(shared_->js);
  if (shared_->nc != nullptr) natsConnection_Destroy(shared_->nc);
}

bool jetstream_publisher::connect(std::string& error) {
  // libnats takes a list of servers as an array, not as one comma-separated URL.
  const std::vector<std::string> urls = protocol::split_list(settings_.url);
  std::vector<const char*> servers;
  for (const auto& u : urls)
    servers.push_back(u.c_str());
  natsOptions* opts = nullptr;
  natsStatus s = servers.empty() ? NATS_INVALID_ARG : natsOptions_Create(&opts);
  if (s == NATS_OK) {
    s = natsOptions_SetServers(opts, servers.data(), static_cast<int>(servers.size()));
  }
  if (s == NATS_OK) s = natsOptions_SetTimeout(opts, kConnectTimeout.count());
  if (s == NATS_OK) s = natsOptions_SetName(opts, "tickring");
  if (s != NATS_OK) {
    error = fmt::format("bad NATS URL '{}': {}", settings_.url, nats_error_text(s));
    natsOptions_Destroy(opts);
    return false;
  }
  s = natsConnection_Connect(&shared_->nc, opts);
  natsOptions_Destroy(opts);
  if (s != NATS_OK) {
    error = fmt::format("cannot connect to NATS at {}: {}{}", settings_.url, natsStatus_GetText(s),
                        s == NATS_NO_SERVER ? " — is nats-server running?" : "");
    return false;
  }
  // A message must hold the longest line the parser accepts (partition_batcher's REQUIRES).
  if (max_message_bytes() < protocol::kMaxLineBytes + kHeaderAllowance) {
    error = fmt::format(
        "NATS at {} takes messages of at most {} bytes (max_payload); lines may "
        "be {} bytes",
        settings_.url, natsConnection_GetMaxPayload(shared_->nc), protocol::kMaxLineBytes);
    return false;
  }
  jsOptions jo;
  jsOptions_Init(&jo);
  // Our own bound (wait_below) keeps the library's from ever stalling a publish.
  jo.PublishAsync.MaxPending = static_cast<int64_t>(settings_.max_pending) + 1;
  jo.PublishAsync.AckHandler = &shared::on_ack;
  jo.PublishAsync.AckHandlerClosure = shared_.get();
  s = natsConnection_JetStream(&shared_->js, shared_->nc, &jo);
  if (s != NATS_OK) {
    error = fmt::format("JetStream context: {}", nats_error_text(s));
    return false;
  }
  jsPubOptions_Init(&shared_->pub_options);
  shared_->pub_options.MaxWait = kAckWait.count();
  return ensure_stream(error);
}

bool jetstream_publisher::ensure_stream(std::string& error) {
  const std::string ours = settings_.subject_prefix + ".*";
  const auto check = [&](jsStreamInfo* si) {
    bool covered = false;
    for (int i = 0; si->Config != nullptr && i < si->Config->SubjectsLen; ++i) {
      covered = covered || subject_covers(si->Config->Subjects[i], ours);
    }
    jsStreamInfo_Destroy(si);
    if (!covered) {
      error =
          fmt::format("stream {} exists but its subjects do not cover {}", settings_.stream, ours);
    }
    return covered;
  };
  jsStreamInfo* si = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_GetStreamInfo(&si, shared_->js, settings_.stream.c_str(), nullptr, &jerr);
  if (s == NATS_OK) return check(si);
  if (s != NATS_NOT_FOUND && jerr != JSStreamNotFoundErr) {
    error = fmt::format("cannot look up stream {}: {}{}", settings_.stream, nats_error_text(s),
                        s == NATS_NO_RESPONDERS || s == NATS_TIMEOUT
                            ? " — is JetStream enabled (nats-server -js)?"
                            : "");
    return false;
  }
  const char* subjects[] = {ours.c_str()};
  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  cfg.Name = settings_.stream.c_str();
  cfg.Subjects = subjects;
  cfg.SubjectsLen = 1;
  cfg.Storage = js_FileStorage;
  cfg.Replicas = settings_.replicas;
  cfg.Duplicates = std::chrono::duration_cast<std::chrono::nanoseconds>(kDuplicateWindow).count();
  jerr = static_cast<jsErrCode>(0);
  s = js_AddStream(&si, shared_->js, &cfg, nullptr, &jerr);
  if (s == NATS_OK) {
    jsStreamInfo_Destroy(si);
    return true;
  }
  if (jerr == JSStreamNameExistErr) {  // a consumer or another feed created it meanwhile
    si = nullptr;
    s = js_GetStreamInfo(&si, shared_->js, settings_.stream.c_str(), nullptr, &jerr);
    if (s == NATS_OK) return check(si);
  }
  error =
      fmt::format("cannot create stream {} (subjects {}, {} replica{}): {}", settings_.stream, ours,
                  settings_.replicas, settings_.replicas == 1 ? "" : "s", nats_error_text(s));
  return false;
}

std::size_t jetstream_publisher::max_message_bytes() const {
  std::size_t limit = kMaxMessageBytes;
  if (shared_->nc != nullptr) {
    const int64_t server = natsConnection_GetMaxPayload(shared_->nc);
    if (server > 0) limit = std::min(limit, static_cast<std::size_t>(server));
  }
  return limit - kHeaderAllowance;
}

bool jetstream_publisher::send(std::string_view subject, std::string_view id,
                               std::string_view payload) {
  shared& sh = *shared_;
  const std::string subject_z(subject);
  const std::string id_z(id);
  natsMsg* m = nullptr;
  natsStatus s = natsMsg_Create(&m, subject_z.c_str(), nullptr, payload.data(),
                                static_cast<int>(payload.size()));
  if (s == NATS_OK) s = natsMsgHeader_Set(m, kMsgIdHeader, id_z.c_str());
  if (s != NATS_OK) {
    natsMsg_Destroy(m);
    error_ = fmt::format("cannot build message {}: {}", id, nats_error_text(s));
    return false;
  }
  {
    const std::lock_guard lock(sh.mu);
    if (sh.outstanding == 0) sh.last_progress = clock::now();
    ++sh.outstanding;
  }
  s = js_PublishMsgAsync(sh.js, &m, &sh.pub_options);
  if (s == NATS_OK) return true;
  // Not sent (disconnected, reconnect buffer full): a failure like a missing ack, retried.
  const std::string reason = nats_error_text(s);
  natsMsg_Destroy(m);
  {
    const std::lock_guard lock(sh.mu);
    --sh.outstanding;
    sh.failed.push_back({std::string(subject), std::string(id), std::string(payload), reason, {}});
  }
  if (natsConnection_IsClosed(sh.nc)) {
    error_ = fmt::format("the NATS connection is closed: {}", reason);
    return false;
  }
  return true;
}

bool jetstream_publisher::publish(std::uint32_t partition, std::string_view payload,
                                  std::uint64_t lines) {
  if (!error_.empty()) return false;
  if (!wait_below(settings_.max_pending)) return false;
  const std::string id = fmt::format("{}:{}", settings_.publisher_id, ++batch_number_);
  const std::string subject = fmt::format("{}.{}", settings_.subject_prefix, partition);
  ++counts_.messages;
  counts_.lines += lines;
  counts_.bytes += payload.size();
  return send(subject, id, payload);
}

bool jetstream_publisher::service() {
  if (!error_.empty()) return false;
  shared& sh = *shared_;
  std::deque<retry_item> failed;
  {
    const std::lock_guard lock(sh.mu);
    failed.swap(sh.failed);
  }
  const auto now = clock::now();
  for (retry_item& f : failed) {
    const unsigned n = ++sh.failures[f.id];
    if (n >= kMaxPublishAttempts) {
      error_ = fmt::format("message {} (subject {}) not stored after {} attempts: {}{}", f.id,
                           f.subject, n, f.reason, connection_note(sh.nc));
      return false;
    }
    f.due = now + kFirstRetryBackoff * (1U << (n - 1));
    if (counts_.retries + sh.scheduled.size() < kLoggedRetries && log_) {
      log_(fmt::format("message {} (subject {}) will be sent again: {}\n", f.id, f.subject,
                       f.reason));
    }
    sh.scheduled.push_back(std::move(f));
  }
  for (std::size_t i = 0; i < sh.scheduled.size();) {
    if (sh.scheduled[i].due > now) {
      ++i;
      continue;
    }
    retry_item r = std::move(sh.scheduled[i]);
    sh.scheduled.erase(sh.scheduled.begin() + static_cast<std::ptrdiff_t>(i));
    ++counts_.retries;
    if (!send(r.subject, r.id, r.payload)) return false;
  }
  return true;
}

bool jetstream_publisher::wait_below(std::size_t pending) {
  shared& sh = *shared_;
  for (;;) {
    if (!service()) return false;
    std::unique_lock lock(sh.mu);
    if (sh.outstanding + sh.failed.size() + sh.scheduled.size() < pending) return true;
    if (sh.outstanding > 0 && clock::now() - sh.last_progress > kStallLimit) {
      error_ = fmt::format("no acknowledgment from NATS for {} s; {} messages unacknowledged{}",
                           kStallLimit.count(), sh.outstanding, connection_note(sh.nc));
      return false;
    }
    if (!sh.failed.empty()) continue;
    sh.cv.wait_for(lock, kWaitSlice);
  }
}

bool jetstream_publisher::finish() {
  return wait_below(1);
}

publish_counts jetstream_publisher::counts() const {
  publish_counts c = counts_;
  const std::lock_guard lock(shared_->mu);
  c.acked = shared_->acked;
  c.duplicates = shared_->duplicates;
  return c;
}

}  // namespace tickring::cli
