# Installs what is not a build target (migrations, man pages, the config
# file) and configures CPack to build a Debian package: cpack -G DEB in
# the build folder.

install(DIRECTORY ${PROJECT_SOURCE_DIR}/sql/
  DESTINATION ${CMAKE_INSTALL_DATADIR}/provisiond/sql
  FILES_MATCHING PATTERN "*.sql")

install(FILES ${PROJECT_SOURCE_DIR}/docs/man/provisionctl.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${PROJECT_SOURCE_DIR}/docs/man/provisiond.conf.5 DESTINATION ${CMAKE_INSTALL_MANDIR}/man5)
install(FILES ${PROJECT_SOURCE_DIR}/docs/man/provisiond.8 DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)

# The config file goes to the path the unit passes to -c, but only when no
# file is there yet, so that cmake --install never replaces an operator's
# settings.  In the package dpkg protects it as a conffile instead.
get_filename_component(PROVISIOND_CONF_DIR "${PROVISIOND_CONF}" DIRECTORY)
install(CODE "
  set(conf \"\$ENV{DESTDIR}${PROVISIOND_CONF}\")
  if(EXISTS \"\${conf}\")
    message(STATUS \"Keeping the existing \${conf}\")
  else()
    file(INSTALL \"${PROJECT_SOURCE_DIR}/systemd/provisiond.conf.example\"
      DESTINATION \"${PROVISIOND_CONF_DIR}\"
      RENAME provisiond.conf
      PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
  endif()")

# ---- Debian package ----

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME provisiond)
set(CPACK_PACKAGE_VENDOR "provisiond")
# NOTE: a placeholder until the project has a maintainer address.
set(CPACK_PACKAGE_CONTACT "provisiond maintainers <root@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "provisioning task queue for Aegir-style hosting control panels")
set(CPACK_PACKAGE_DESCRIPTION
  "provisiond claims provisioning tasks from a PostgreSQL table, runs each in a worker process that acts on remote servers over SSH, and writes status and a live task log back for the control panel. provisionctl is the operator tool.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)

# The package installs where this build was configured to, because the
# binaries, the unit and the worker_program default contain those paths.
# Configure with -DCMAKE_INSTALL_PREFIX=/usr for a package that follows
# Debian policy.
set(CPACK_PACKAGING_INSTALL_PREFIX "${CMAKE_INSTALL_PREFIX}")
# The config file has an absolute path (/etc/...), which lands in the
# package only when CPack installs through DESTDIR.
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX "${CMAKE_INSTALL_PREFIX}")

set(CPACK_DEBIAN_PACKAGE_DEPENDS "libc6, libev4, libpq5, libssh2-1, libmariadb3, libjansson4")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "postgresql-client, openssh-client")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "postgresql")

# Maintainer scripts: create the aegir user and folders on install, stop
# the service on removal.  They name the installed paths, so they are
# configured here.
set(PROVISIOND_SYSUSERS_FILE "${CMAKE_INSTALL_PREFIX}/lib/sysusers.d/provisiond.conf")
set(PROVISIOND_TMPFILES_FILE "${CMAKE_INSTALL_PREFIX}/lib/tmpfiles.d/provisiond.conf")
foreach(script postinst prerm postrm conffiles)
  configure_file(${PROJECT_SOURCE_DIR}/packaging/deb/${script}.in
    ${CMAKE_CURRENT_BINARY_DIR}/packaging/deb/${script} @ONLY)
endforeach()
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${CMAKE_CURRENT_BINARY_DIR}/packaging/deb/postinst
  ${CMAKE_CURRENT_BINARY_DIR}/packaging/deb/prerm
  ${CMAKE_CURRENT_BINARY_DIR}/packaging/deb/postrm
  ${CMAKE_CURRENT_BINARY_DIR}/packaging/deb/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

include(CPack)
