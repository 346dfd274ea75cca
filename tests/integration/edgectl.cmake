# edgectl: the real binaries through up / status / down (integration), and the supervisor's
# restart schedule with an injected clock (unit).
edge_test(NAME edgectl_test SRCS ${CMAKE_CURRENT_LIST_DIR}/edgectl_test.cc
  DEPS edge::subprocess nlohmann_json::nlohmann_json absl::strings absl::time
  LABELS integration TIMEOUT 180)
# The test runs these binaries; building the test builds them.
add_dependencies(edgectl_test edgectl edge-store)

edge_test(NAME edgectl_supervisor_test SRCS ${CMAKE_CURRENT_LIST_DIR}/edgectl_supervisor_test.cc
  DEPS edge::cli_supervisor LABELS unit TIMEOUT 60)
