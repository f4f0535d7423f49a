# window_store: the window store behind its writer-preferring lock vs std::shared_mutex vs one
# std::mutex, same table, same run; plus the bare table's cost per call.
add_executable(window_store_bench ${CMAKE_CURRENT_LIST_DIR}/window_store_bench.cc)
target_link_libraries(window_store_bench PRIVATE tickring_core benchmark::benchmark)
