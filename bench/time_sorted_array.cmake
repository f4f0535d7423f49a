# time_sorted_array microbenchmarks against the ring targets of the README's performance table: append, prepend,
# middle insert, get, backward step, and readers under a writing writer vs std::map.
add_executable(time_sorted_array_bench ${CMAKE_CURRENT_LIST_DIR}/time_sorted_array_bench.cc)
target_link_libraries(time_sorted_array_bench PRIVATE tickring_core benchmark::benchmark
                                                      Threads::Threads)
