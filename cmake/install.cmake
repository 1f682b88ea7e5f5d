# What `cmake --install` puts on the appliance (docs/image.md): the daemons under
# libexec/cordon, the command-line tools in bin, the systemd units, sysusers.d and tmpfiles.d,
# and the shipped data (the default constitution, the injection markers) under share/cordon.
# The Debian package (image/build-deb) is exactly this tree.
include(GNUInstallDirs)

install(TARGETS cordon-auditd cordon-secretsd cordon-approvald cordon-agentd
        RUNTIME DESTINATION ${CMAKE_INSTALL_LIBEXECDIR}/cordon)
install(TARGETS cordon-provision RUNTIME DESTINATION ${CMAKE_INSTALL_LIBEXECDIR}/cordon)
install(TARGETS cordonctl cordon-mcp cordon-audit cordon-policy
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# systemd's own directories are fixed paths under the prefix, not configurable ones.
file(GLOB cordon_units ${PROJECT_SOURCE_DIR}/services/systemd/*.service
     ${PROJECT_SOURCE_DIR}/services/systemd/*.socket ${PROJECT_SOURCE_DIR}/services/systemd/*.target)
install(FILES ${cordon_units} DESTINATION lib/systemd/system)
file(GLOB cordon_network_dropins ${PROJECT_SOURCE_DIR}/services/systemd/network.d/*.conf)
install(FILES ${cordon_network_dropins} DESTINATION ${CMAKE_INSTALL_DATADIR}/cordon/network.d)
install(FILES ${PROJECT_SOURCE_DIR}/services/sysusers.d/cordon.conf DESTINATION lib/sysusers.d)
install(FILES ${PROJECT_SOURCE_DIR}/services/tmpfiles.d/cordon.conf DESTINATION lib/tmpfiles.d)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/services/constitution.d DESTINATION ${CMAKE_INSTALL_DATADIR}/cordon)
install(FILES ${PROJECT_SOURCE_DIR}/services/injection-markers.toml DESTINATION ${CMAKE_INSTALL_DATADIR}/cordon)
