# Installs the pinned Node.js Azure IoT SDK (package.json + package-lock.json next to this file)
# into SDK_DIR with `npm ci`, unless SDK_DIR already holds exactly that lock file's packages.
# Run by ctest as the FIXTURES_SETUP of sdk_test:
#   cmake -DSDK_SOURCE_DIR=<this dir> -DSDK_DIR=<build>/sdk -P install_sdk.cmake
# A second run with an unchanged lock file does nothing (no network).

if(NOT SDK_SOURCE_DIR OR NOT SDK_DIR)
  message(FATAL_ERROR "install_sdk.cmake needs -DSDK_SOURCE_DIR=... and -DSDK_DIR=...")
endif()

set(lock "${SDK_SOURCE_DIR}/package-lock.json")
set(stamp "${SDK_DIR}/installed-package-lock.json")
if(EXISTS "${stamp}" AND EXISTS "${SDK_DIR}/node_modules/azure-iot-device-mqtt/package.json")
  file(SHA256 "${lock}" wanted)
  file(SHA256 "${stamp}" have)
  if(wanted STREQUAL have)
    message(STATUS "Node.js IoT SDK already installed in ${SDK_DIR}")
    return()
  endif()
endif()

find_program(NPM npm)
if(NOT NPM)
  message(FATAL_ERROR "npm not found: install nodejs and npm (scripts/install-deps.sh does)")
endif()

file(MAKE_DIRECTORY "${SDK_DIR}")
file(REMOVE "${stamp}")
file(COPY "${SDK_SOURCE_DIR}/package.json" "${lock}" DESTINATION "${SDK_DIR}")
execute_process(
  COMMAND "${NPM}" ci --prefix "${SDK_DIR}" --no-audit --no-fund --loglevel=warn
  RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "npm ci into ${SDK_DIR} failed (${result})")
endif()
file(COPY_FILE "${lock}" "${stamp}")
message(STATUS "Node.js IoT SDK installed in ${SDK_DIR}")
