# Line-protocol parse throughput (lines/s, ns/line) for a typical 4-field quote line.
add_executable(line_protocol_bench ${CMAKE_CURRENT_LIST_DIR}/line_protocol_bench.cc)
target_link_libraries(line_protocol_bench PRIVATE tickring_protocol benchmark::benchmark)
