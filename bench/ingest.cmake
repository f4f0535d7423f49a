# The ingest path stage by stage, and resident memory per stored quote.
if(TARGET tickring_server)
  add_executable(ingest_path_bench ${CMAKE_CURRENT_LIST_DIR}/ingest_path_bench.cc)
  target_link_libraries(ingest_path_bench PRIVATE tickring_server benchmark::benchmark)
  add_executable(memory_footprint ${CMAKE_CURRENT_LIST_DIR}/memory_footprint.cc)
  target_link_libraries(memory_footprint PRIVATE tickring_server)
endif()
