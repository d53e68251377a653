# cmake -DOUTPUT=<file> -DCOMMAND=<program;args...> -P capture.cmake
# Runs COMMAND and writes its standard output to OUTPUT (only when that changes); fails when the
# command does. For what the build makes by running a built binary (the completion script).
execute_process(COMMAND ${COMMAND} OUTPUT_VARIABLE text RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "${COMMAND}: exit status ${status}")
endif()
if(EXISTS "${OUTPUT}")
  file(READ "${OUTPUT}" old)
  if(old STREQUAL text)
    file(TOUCH "${OUTPUT}")
    return()
  endif()
endif()
file(WRITE "${OUTPUT}" "${text}")
