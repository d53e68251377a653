# Read by ctest after the discovered tests (tests/CMakeLists.txt appends it to the directory's
# TEST_INCLUDE_FILES): gives every test that starts processes the ctest locks it needs, by its
# name. (gtest_discover_tests can give all of an executable's tests one lock, not a list of locks,
# nor a lock for some of them.)
#
# - cpu_spin: the test may spin. Spinning pairs share the two cores, so no two run at once. The
#   conformance, fault and fanout cases say their wait mode at the end of their name; a `block`
#   case does not spin and runs beside the others (except a fault case: below). The CLI suites'
#   tests take it by name (below); every test of the other suites is taken to spin.
# - roudi: the test may start RouDi (iceoryx, cyclonedds-shm; ReqrespNative runs iceoryx too), and
#   iceoryx allows one RouDi per machine: no two such tests run at once, whatever their wait mode.
#   A whole-registry run (`--transports all`) is one of them.
# - dev_shm: the fault tests look for files left in /dev/shm that no process uses, and a running
#   Fast DDS has such files (its ports' sem.*_mutex, mapped only while they are locked): no fault
#   test runs beside another, or beside a test that runs Fast DDS.
#
# The tests that take cpu_spin form one chain, run one after another: the suite lasts at least as
# long as that chain. They get a COST, which ctest starts the costliest tests by (when it has no
# times of an earlier run, as on a fresh clone), so that the chain starts at once and the other
# tests fill the second slot beside it instead of waiting at the end.
function(ipcbench_lock test spins)
  set(locks "")
  set(cost 0)
  if(spins)
    list(APPEND locks cpu_spin)
    set(cost 10)
  endif()
  if(test MATCHES "[Ii]ceoryx|cyclonedds_shm|QuickRunOfEveryTransport|ReqrespNative")
    list(APPEND locks roudi)
  endif()
  if(test MATCHES "[Ff]astdds|QuickRunOfEveryTransport|/Fault[.]")
    list(APPEND locks dev_shm)
  endif()
  set_tests_properties("${test}" PROPERTIES RESOURCE_LOCK "${locks}" COST ${cost})
endfunction()

# A fault test in block mode runs beside one spinning test, as every block test does (it once
# failed to connect `cyclonedds-shm` in 28 s beside two spinning tests, ShmRing and ShmPair, from
# before both suites took cpu_spin); the fault tests stay one at a time (dev_shm).
foreach(test IN LISTS conformance_tests_TESTS fault_tests_TESTS fanout_tests_TESTS)
  if(test MATCHES "_(spin|adaptive)( |$)")
    ipcbench_lock("${test}" TRUE)
  else()
    ipcbench_lock("${test}" FALSE)
  endif()
endforeach()
foreach(test IN LISTS shm_ring_tests_TESTS zerocopy_transport_tests_TESTS)
  ipcbench_lock("${test}" TRUE)
endforeach()
# The suites that run the binary as a user would: only the tests whose cells spin take the lock
# (shared memory in its native mode, --wait all, a whole registry). The others run block cells
# (a pipe, a socket), read files, or run nothing; a run's floor spins for a fifth of a second
# at most, and its cells' for 4 ms, which slows a spinning neighbour a moment and is all.
foreach(test IN LISTS cli_tests_TESTS safety_tests_TESTS hostile_tests_TESTS)
  if(test MATCHES "QuickRunOfEveryTransport|UnixStreamPollFirst|SeveralCpuPairs|RoudiDevShmCannotHold")
    ipcbench_lock("${test}" TRUE)
  else()
    ipcbench_lock("${test}" FALSE)
  endif()
endforeach()
