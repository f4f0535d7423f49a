# The ingest path stage by stage, and resident memory per stored quote. Both use core/ and
# protocol/ only (bench/ never reaches into server/).
add_executable(ingest_path_bench ${CMAKE_CURRENT_LIST_DIR}/ingest_path_bench.cc)
target_link_libraries(ingest_path_bench PRIVATE tickring_protocol tickring_core benchmark::benchmark)
add_executable(memory_footprint ${CMAKE_CURRENT_LIST_DIR}/memory_footprint.cc)
target_link_libraries(memory_footprint PRIVATE tickring_core)
