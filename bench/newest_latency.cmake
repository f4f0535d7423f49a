# One latency client for tickring's HTTP newest-N and Redis's XREVRANGE (bench/vs_redis.sh).
# It shares the load tools' socket code with the CLI (client-cli/bench_http.cc: POSIX only),
# never server/.
add_executable(newest_latency ${CMAKE_CURRENT_LIST_DIR}/newest_latency.cc
                              ${PROJECT_SOURCE_DIR}/client-cli/bench_http.cc)
target_include_directories(newest_latency PRIVATE ${PROJECT_SOURCE_DIR})
target_link_libraries(newest_latency PRIVATE nlohmann_json::nlohmann_json)
