# The installed library: runtime + onnx loader + kernels + ONNX classes in one libedgert.so
# (exporting only the C API and namespace edgert, cmake/edgert.map) and one libedgert.a,
# with headers, a CMake package (edgert::edgert, edgert::edgert_static) and edgert.pc.
set(_edgert_parts edgert_simd edgert_runtime edgert_onnx edgert_onnx_proto)
set(_edgert_objects "")
foreach(part IN LISTS _edgert_parts)
  list(APPEND _edgert_objects $<TARGET_OBJECTS:${part}>)
endforeach()
if(EDGERT_PROTO_LITE)
  set(_edgert_protobuf protobuf::libprotobuf-lite)
  set(EDGERT_PC_PROTOBUF protobuf-lite)
else()
  set(_edgert_protobuf protobuf::libprotobuf)
  set(EDGERT_PC_PROTOBUF protobuf)
endif()

add_library(edgert_shared SHARED ${_edgert_objects})
add_library(edgert_static STATIC ${_edgert_objects})
add_dependencies(edgert_shared ${_edgert_parts})
add_dependencies(edgert_static ${_edgert_parts})
foreach(lib edgert_shared edgert_static)
  target_include_directories(${lib} INTERFACE
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/runtime/include>
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/simd/include>
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/onnx/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_compile_features(${lib} INTERFACE cxx_std_20)
endforeach()
target_link_libraries(edgert_shared PRIVATE ${_edgert_protobuf} Threads::Threads)
target_link_libraries(edgert_static INTERFACE ${_edgert_protobuf} Threads::Threads)
target_link_options(edgert_shared PRIVATE "LINKER:--version-script=${PROJECT_SOURCE_DIR}/cmake/edgert.map"
                    "LINKER:--no-undefined" "LINKER:--exclude-libs,ALL")
set_target_properties(edgert_shared PROPERTIES OUTPUT_NAME edgert EXPORT_NAME edgert VERSION ${PROJECT_VERSION}
                      SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR}
                      LINK_DEPENDS ${PROJECT_SOURCE_DIR}/cmake/edgert.map)
set_target_properties(edgert_static PROPERTIES OUTPUT_NAME edgert EXPORT_NAME edgert_static)

install(TARGETS edgert_shared edgert_static EXPORT edgertTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/runtime/include/edgert ${PROJECT_SOURCE_DIR}/onnx/include/edgert
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${PROJECT_SOURCE_DIR}/simd/include/edgert/simd/isa.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/edgert/simd)

include(CMakePackageConfigHelpers)
set(_edgert_cmakedir ${CMAKE_INSTALL_LIBDIR}/cmake/edgert)
install(EXPORT edgertTargets NAMESPACE edgert:: DESTINATION ${_edgert_cmakedir})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/edgertConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/edgertConfig.cmake INSTALL_DESTINATION ${_edgert_cmakedir})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/edgertConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/edgertConfig.cmake ${PROJECT_BINARY_DIR}/edgertConfigVersion.cmake
        DESTINATION ${_edgert_cmakedir})
configure_file(${PROJECT_SOURCE_DIR}/cmake/edgert.pc.in ${PROJECT_BINARY_DIR}/edgert.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/edgert.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
