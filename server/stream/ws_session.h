// One WebSocket connection on /v1/stream (docs/stream.md), after the HTTP session has read
// the upgrade request.
//
// Threads: everything runs on the connection's strand; the ingest thread only pushes to the
// session's inbox and wakes it with a post. One write in flight; the outbox is bounded in
// messages and bytes (stream_limits): past the bound a live message conflates its series
// (lagged + fresh snapshot) or closes the connection with 1008, per the slow policy. Control
// messages (subscribed, snapshot, reset, lagged, error, pong) are always queued: there is at
// most a handful per subscription. Timeouts: handshake, idle (Beast pings at half the idle
// timeout, closes after all of it with no traffic). Client messages over 64 KiB close with
// 1009; a flood of bad ones closes with 1008.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <memory>

#include "server/stream/stream_context.h"

namespace tickring::server::stream {

// Takes over the socket and the upgrade request; `slot` keeps the connection counted while
// the session lives.
void start_ws_session(boost::asio::ip::tcp::socket&& socket,
                      boost::beast::http::request<boost::beast::http::string_body>&& request,
                      stream_context& ctx, std::shared_ptr<void> slot);

}  // namespace tickring::server::stream
