# The chart page (GET /, GET /ui/<file>), embedded in tickring_server as generated sources.
# Included from server/CMakeLists.txt after the tickring_server target exists.
#
# lightweight-charts comes from server/web/node_modules, installed by `npm ci` (pinned in
# package-lock.json) from scripts/install-deps.sh; nothing is copied into the repository and
# nothing is downloaded by the build. Without it configure fails: a server without its page
# would pass every other test and ship broken.
set(web_dir ${CMAKE_CURRENT_SOURCE_DIR}/web)
set(lwc_dir ${web_dir}/node_modules/lightweight-charts)

file(READ ${web_dir}/package-lock.json lwc_lock)
string(JSON lwc_wanted GET "${lwc_lock}" packages node_modules/lightweight-charts version)
if(NOT EXISTS ${lwc_dir}/package.json)
  message(FATAL_ERROR
    "server/web/node_modules/lightweight-charts is missing: the chart page cannot be embedded.\n"
    "Run scripts/install-deps.sh (it runs `npm ci` in server/web), then configure again.")
endif()
file(READ ${lwc_dir}/package.json lwc_package)
string(JSON lwc_have GET "${lwc_package}" version)
if(NOT lwc_have STREQUAL lwc_wanted)
  message(FATAL_ERROR
    "server/web/node_modules holds lightweight-charts ${lwc_have}, package-lock.json pins "
    "${lwc_wanted}. Run scripts/install-deps.sh (npm ci), then configure again.")
endif()
# Re-run configure (and so this check) when the lockfile or the installed package changes.
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
             ${web_dir}/package-lock.json ${lwc_dir}/package.json)

# url=file pairs; the production build of the library, standalone (fancy-canvas bundled) and
# as an ES module, so the page needs no bundler.
set(web_assets
  "/=${web_dir}/index.html"
  "/ui/chart.js=${web_dir}/chart.js"
  "/ui/chart.css=${web_dir}/chart.css"
  "/ui/lightweight-charts.mjs=${lwc_dir}/dist/lightweight-charts.standalone.production.mjs"
  "/ui/LICENSE-lightweight-charts.txt=${lwc_dir}/LICENSE"
  "/ui/NOTICE.txt=${web_dir}/NOTICE")
set(web_inputs "")
set(web_outputs ${CMAKE_CURRENT_BINARY_DIR}/web_assets/asset_table.cc)
set(i 0)
foreach(entry IN LISTS web_assets)
  string(REGEX REPLACE "^[^=]*=" "" file "${entry}")
  list(APPEND web_inputs ${file})
  list(APPEND web_outputs ${CMAKE_CURRENT_BINARY_DIR}/web_assets/asset_${i}.cc)
  math(EXPR i "${i} + 1")
endforeach()
string(JOIN "|" web_assets_arg ${web_assets})
add_custom_command(
  OUTPUT ${web_outputs}
  COMMAND ${CMAKE_COMMAND} -DOUT_DIR=${CMAKE_CURRENT_BINARY_DIR}/web_assets
          "-DASSETS=${web_assets_arg}" -P ${web_dir}/embed_assets.cmake
  DEPENDS ${web_inputs} ${web_dir}/embed_assets.cmake
  COMMENT "Embedding the chart page (server/web)"
  VERBATIM)
target_sources(tickring_server PRIVATE ${web_outputs})
# The generated table includes server/static_assets.h; the byte arrays need no warnings.
set_source_files_properties(${web_outputs} PROPERTIES COMPILE_OPTIONS "-w")
