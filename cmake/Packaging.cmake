# Install rules and the Debian package (CPack), included from the top CMakeLists.txt.
#
#   cmake --install build --prefix /usr/local    binary, man page, start-memcached, init script,
#                                                systemd unit, /etc files (under the prefix)
#   (cd build && cpack -G DEB)                   mcd_<version>_<arch>.deb, installs as /usr
#
# Paths that depend on the prefix at install time (where /etc is, the paths written into the init
# script and the systemd unit) are worked out by cmake/InstallSystemFiles.cmake when installing,
# so one build tree installs correctly to any --prefix and also packages for /usr.
include(GNUInstallDirs)

install(TARGETS memcached RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${PROJECT_SOURCE_DIR}/docs/memcached.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/LICENSE
              ${PROJECT_SOURCE_DIR}/docs/operations.md ${PROJECT_SOURCE_DIR}/docs/compatibility.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES ${PROJECT_SOURCE_DIR}/conf/memcached.conf ${PROJECT_SOURCE_DIR}/conf/memcached.sysconfig
              ${PROJECT_SOURCE_DIR}/conf/mcd.flags
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
install(CODE "set(MCD_SOURCE_DIR \"${PROJECT_SOURCE_DIR}\")
set(MCD_BINARY_DIR \"${PROJECT_BINARY_DIR}\")
set(MCD_BINDIR \"${CMAKE_INSTALL_BINDIR}\")
set(MCD_DATADIR \"${CMAKE_INSTALL_DATADIR}\")")
install(SCRIPT ${PROJECT_SOURCE_DIR}/cmake/InstallSystemFiles.cmake)

# ---- Debian package -------------------------------------------------------------------------------
set(CPACK_PACKAGE_NAME mcd)
set(CPACK_PACKAGE_VENDOR "mcd developers")
set(CPACK_PACKAGE_CONTACT "mcd developers <mcd@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "memcached-compatible memory object cache daemon")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_GENERATOR DEB)
# cpack packages what `cmake --install` installs, with DESTDIR set to its staging directory and
# prefix /usr, so InstallSystemFiles.cmake sees the real prefix. It does not build: build first
# (cmake --build build --target memcached), as for cmake --install. (CPack's default, installing
# the project itself, first builds every target, tests and benchmarks included.)
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_INSTALL_CMAKE_PROJECTS "")
set(CPACK_INSTALL_COMMANDS "${CMAKE_COMMAND} --install ${PROJECT_BINARY_DIR} --prefix /usr --strip")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# The first line of the package description is CPACK_PACKAGE_DESCRIPTION_SUMMARY.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "mcd is a drop-in replacement for memcached 1.6.18 written in C++20: the same
text protocol, command-line options and stats names. It installs as the
memcached binary and the memcached service, reading /etc/memcached.conf.")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_PROVIDES "memcached")
set(CPACK_DEBIAN_PACKAGE_CONFLICTS "memcached")
set(CPACK_DEBIAN_PACKAGE_REPLACES "memcached")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/packaging/debian/conffiles
    ${PROJECT_SOURCE_DIR}/packaging/debian/postinst
    ${PROJECT_SOURCE_DIR}/packaging/debian/prerm
    ${PROJECT_SOURCE_DIR}/packaging/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
