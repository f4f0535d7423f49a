// Opening the two listening sockets (HTTP and the line-protocol feed) the same way, so that
// every start-up failure reads alike.
//
// Threads: start-up only (before the io_contexts run).
// Errors: open_listener throws std::runtime_error naming the flag and the address, e.g.
// "HTTP (--http) address 127.0.0.1:8080 is already in use", which main prints before exiting 1.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <string_view>

#include "server/config.h"

namespace tickring::server {

// After an accept fails for lack of descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM),
// the accept loop waits this long before trying again instead of spinning on the error: the
// pending connection stays in the backlog until a descriptor is free.
inline constexpr std::chrono::milliseconds kAcceptBackoff{100};
// Descriptors kept out of the connection budget: listeners, epoll, the timer and eventfd of
// each io_context, log output, /proc reads, and room for what libraries open.
inline constexpr std::size_t kReservedDescriptors = 64;
// And per worker thread: each has its own io_context (epoll, eventfd, timerfd).
inline constexpr std::size_t kDescriptorsPerWorker = 3;

// True for an accept error that a pause can cure (out of descriptors or kernel memory).
bool is_resource_exhaustion(const boost::system::error_code& ec);

// Start-up: raises the soft RLIMIT_NOFILE to the hard limit, then lowers --max-connections
// (with a warning) so that HTTP plus feed connections fit in it with kReservedDescriptors and
// kDescriptorsPerWorker for each worker to spare. Throws std::runtime_error if not even one
// connection of each kind fits.
void fit_descriptor_limit(server_config& config);

// Opens, binds (SO_REUSEADDR) and listens on `where`. `what` names the listener in errors.
// An unspecified IPv6 address ("::", and ":port") takes IPv4 connections too (IPV6_V6ONLY
// off); ":port" falls back to 0.0.0.0, with a warning, where the kernel has no IPv6.
void open_listener(boost::asio::ip::tcp::acceptor& acceptor, const endpoint_spec& where,
                   std::string_view what);

// True for 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104; false for anything else, a host name
// included.
bool is_loopback_address(const std::string& host);

// Start-up (docs/auth.md): refuses, with std::runtime_error naming the address, the flag and
// the ways out, to listen for HTTP or the feed beyond loopback when writes need no token,
// unless --insecure-no-auth says so (then it warns).
void check_exposure(const server_config& config, bool writes_need_token);

}  // namespace tickring::server
