# Install layout and the Debian package.
#
# `cmake --install build --prefix P` puts the programs in P/bin, the data
# (rubrics, workflows, authority, units) in P/share/ocop, the systemd unit in
# P/lib/systemd/system and the example config in P/etc/ocop (/etc/ocop when P
# is /usr). The programs find their data at ../share/ocop beside their own
# directory, so an installed or relocated tree works without OCOP_DATA_DIR
# (which still overrides); the build tree mirrors that layout (bin/ and a
# share/ocop link to the source tree's data/), so tests run from any build
# directory. `cpack -G DEB` in a build configured with
# -DCMAKE_INSTALL_PREFIX=/usr makes ocop_<version>_<arch>.deb (scripts/package.sh).
include(GNUInstallDirs)

set(OCOP_DATA_SUBDIR "${CMAKE_INSTALL_DATADIR}/ocop")
file(RELATIVE_PATH OCOP_DATA_FROM_BIN "${CMAKE_INSTALL_FULL_BINDIR}" "${CMAKE_INSTALL_FULL_DATADIR}/ocop")
target_compile_definitions(ocop_common PRIVATE
  OCOP_DATA_DIR_FROM_BIN="${OCOP_DATA_FROM_BIN}"
  OCOP_DATA_DIR_INSTALLED="${CMAKE_INSTALL_FULL_DATADIR}/ocop")

# The build tree's programs live in bin/: give them the same relative data path.
get_filename_component(OCOP_BUILD_DATA "${CMAKE_BINARY_DIR}/bin/${OCOP_DATA_FROM_BIN}" ABSOLUTE)
get_filename_component(OCOP_BUILD_DATA_PARENT "${OCOP_BUILD_DATA}" DIRECTORY)
file(MAKE_DIRECTORY "${OCOP_BUILD_DATA_PARENT}")
file(CREATE_LINK "${CMAKE_SOURCE_DIR}/data" "${OCOP_BUILD_DATA}" SYMBOLIC)

install(TARGETS ocop ocopd RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# Everything under data/ except the demo's sheets; the README files there
# document the formats next to the files they describe.
install(DIRECTORY data/ DESTINATION ${OCOP_DATA_SUBDIR} PATTERN demo EXCLUDE)
install(FILES packaging/ocopd.conf DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
install(FILES README.md docs/NATIONAL.md docs/SNEAKERNET.md docs/OPERATIONS.md DESTINATION ${CMAKE_INSTALL_DOCDIR})

# The unit and /etc file name the paths of the prefix chosen at install time
# (cmake --install --prefix), so they are written then, not at configure time.
install(CODE "set(OCOP_UNIT_IN \"${CMAKE_SOURCE_DIR}/packaging/ocopd.service.in\")
set(OCOP_CONF \"${CMAKE_SOURCE_DIR}/packaging/ocopd.conf\")
set(OCOP_GEN \"${CMAKE_BINARY_DIR}/packaging-gen\")
set(OCOP_BINDIR \"${CMAKE_INSTALL_BINDIR}\")
set(OCOP_DOCDIR \"${CMAKE_INSTALL_DOCDIR}\")")
install(CODE [[
  set(_p "${CMAKE_INSTALL_PREFIX}")
  if(_p STREQUAL "/usr" OR _p STREQUAL "/")
    set(OCOPD_CONFIG "/etc/ocop/ocopd.conf")
  else()
    set(OCOPD_CONFIG "${_p}/etc/ocop/ocopd.conf")
  endif()
  set(OCOPD_BIN "${_p}/${OCOP_BINDIR}/ocopd")
  set(OCOPD_DOC "${_p}/${OCOP_DOCDIR}")
  configure_file("${OCOP_UNIT_IN}" "${OCOP_GEN}/ocopd.service" @ONLY)
  file(INSTALL DESTINATION "${_p}/lib/systemd/system" TYPE FILE FILES "${OCOP_GEN}/ocopd.service")
  get_filename_component(_etc "${OCOPD_CONFIG}" DIRECTORY)
  file(INSTALL DESTINATION "${_etc}" TYPE FILE FILES "${OCOP_CONF}")
]])

# ===== The Debian package (cpack -G DEB) =====
set(CPACK_PACKAGE_NAME ocop)
set(CPACK_PACKAGE_VENDOR "OCOP offices")
set(CPACK_PACKAGE_CONTACT "OCOP provincial IT <ocop-it@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "OCOP dossiers and council scores: offline client (ocop) and server (ocopd)")
set(CPACK_PACKAGE_DESCRIPTION "The offline-first system of Vietnam's OCOP offices: commune laptops keep
 SQLite replicas of product dossiers and council score sheets (ocop), and
 replicate them over nng to the provincial server (ocopd), which merges them,
 keeps the conflict ledger, serves a read-only dashboard and hands 5-star
 candidates to the national server.")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_GENERATOR DEB)
# Absolute paths (/etc/ocop) go into the package as they are.
set(CPACK_SET_DESTDIR ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION misc)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "passwd")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  "${CMAKE_SOURCE_DIR}/packaging/deb/postinst;${CMAKE_SOURCE_DIR}/packaging/deb/prerm;${CMAKE_SOURCE_DIR}/packaging/deb/postrm;${CMAKE_SOURCE_DIR}/packaging/deb/conffiles")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
