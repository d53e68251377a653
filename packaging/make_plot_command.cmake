# cmake -DINPUT=scripts/plot.py -DOUTPUT=<dir>/ipcbench-plot -DVERSION=<version> -P ...
# The installed ipcbench-plot: scripts/plot.py run by the system's Python (/usr/bin/python3, the
# one python3-matplotlib installs into), with ipcbench's version where the source says None.
file(READ "${INPUT}" text)
string(REGEX REPLACE "^#![^\n]*\n" "#!/usr/bin/python3\n" text "${text}")
string(FIND "${text}" "\nVERSION = None\n" at)
if(at EQUAL -1 OR NOT text MATCHES "^#!/usr/bin/python3\n")
  message(FATAL_ERROR "${INPUT}: expected a #! line and a line 'VERSION = None'")
endif()
string(REPLACE "\nVERSION = None\n" "\nVERSION = \"${VERSION}\"\n" text "${text}")
file(WRITE "${OUTPUT}" "${text}")
file(CHMOD "${OUTPUT}" PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
  WORLD_READ WORLD_EXECUTE)
