# Run by `cmake --install` / cpack (see Packaging.cmake): installs the files whose place or content
# depends on the install prefix. Expects MCD_SOURCE_DIR, MCD_BINARY_DIR, MCD_BINDIR, MCD_DATADIR.
#
#   prefix /usr (packages):  /etc/memcached.conf, /etc/default/memcached, /etc/init.d/memcached,
#                            /lib/systemd/system/memcached.service (Debian 12 keeps units in /lib)
#   any other prefix P:      P/etc/..., P/lib/systemd/system/memcached.service
#   and in both cases PREFIX/share/memcached/scripts/start-memcached.
#
# start-memcached, the init script and the unit are written with the paths of that prefix. Existing files in etc/
# are kept when installing without DESTDIR (a local install never overwrites configuration).
set(prefix "${CMAKE_INSTALL_PREFIX}")
string(REGEX REPLACE "/+$" "" prefix "${prefix}")
if(prefix STREQUAL "/usr" OR prefix STREQUAL "")
  set(etc "/etc")
  set(unitdir "/lib/systemd/system")
else()
  set(etc "${prefix}/etc")
  set(unitdir "${prefix}/lib/systemd/system")
endif()
set(destdir "$ENV{DESTDIR}")

set(bin "${prefix}/${MCD_BINDIR}/memcached")
set(start "${prefix}/${MCD_DATADIR}/memcached/scripts/start-memcached")
set(work "${MCD_BINARY_DIR}/mcd-install-files")
file(MAKE_DIRECTORY "${work}")

# mcd_fill(IN OUT): IN with the default /usr and /etc paths replaced by this prefix's.
function(mcd_fill in out)
  file(READ "${in}" text)
  string(REPLACE "/usr/share/memcached/scripts/start-memcached" "${start}" text "${text}")
  string(REPLACE "/usr/bin/memcached" "${bin}" text "${text}")
  string(REPLACE "/etc/memcached.conf" "${etc}/memcached.conf" text "${text}")
  string(REPLACE "/etc/default/memcached" "${etc}/default/memcached" text "${text}")
  string(REPLACE "/etc/sysconfig/memcached" "${etc}/sysconfig/memcached" text "${text}")
  file(WRITE "${out}" "${text}")
endfunction()

# mcd_put(SRC DIR NAME MODE...): installs SRC as DESTDIR/DIR/NAME.
function(mcd_put src dir name)
  set(target "${destdir}${dir}/${name}")
  if(destdir STREQUAL "" AND EXISTS "${target}" AND dir MATCHES "/etc(/|$)"
     AND NOT name STREQUAL "memcached.service")
    message(STATUS "Keeping existing: ${target}")
    return()
  endif()
  # file(INSTALL) adds DESTDIR itself.
  file(INSTALL DESTINATION "${dir}" TYPE FILE PERMISSIONS ${ARGN} RENAME "${name}"
       FILES "${src}")
endfunction()

set(rw OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
set(rwx OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)

mcd_put("${MCD_SOURCE_DIR}/conf/memcached.conf" "${etc}" memcached.conf ${rw})
mcd_put("${MCD_SOURCE_DIR}/conf/memcached.default" "${etc}/default" memcached ${rw})
mcd_fill("${MCD_SOURCE_DIR}/scripts/memcached.init" "${work}/memcached.init")
mcd_put("${work}/memcached.init" "${etc}/init.d" memcached ${rwx})
mcd_fill("${MCD_SOURCE_DIR}/scripts/memcached.service" "${work}/memcached.service")
mcd_put("${work}/memcached.service" "${unitdir}" memcached.service ${rw})
mcd_fill("${MCD_SOURCE_DIR}/scripts/start-memcached" "${work}/start-memcached")
mcd_put("${work}/start-memcached" "${prefix}/${MCD_DATADIR}/memcached/scripts" start-memcached ${rwx})
