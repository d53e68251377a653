// RouDi, Eclipse iceoryx 2.0's broker: the daemon of every transport that runs over iceoryx (the
// `iceoryx` driver, Cyclone DDS's shared memory). Plain POSIX: it starts and stops the iox-roudi
// program and looks at its files; the drivers' own iceoryx runtime is in iceoryx_runtime.hpp.
//
// start_roudi (TransportInfo::start_daemon) starts `iox-roudi -c <config>` (mempools sized for
// the run's largest message), waits for "RouDi is ready for clients" in its log, and on
// destruction waits until RouDi has let every client go (RouDi aborts when it is stopped while it
// still lists a process that died) before SIGINT; it removes what RouDi leaves if it dies badly.
// A RouDi that is already running (this user's, or the one this very process started for
// another transport) is used and left alone; one that another ipcbench process started is not
// (it stops it when it is done), nor one of another user (its shared memory is not this user's):
// iceoryx 2.0 allows one RouDi per machine, so the cells fail at once with that reason. A RouDi
// that /dev/shm cannot hold is not started (the reason says how much it needs and how much is
// free); one that fails to start anyway has what it made removed.
#pragma once

#include <memory>

#include "transports/transport.hpp"

namespace ipcbench {

enum class RoudiSocket { absent, serving, forbidden };

// RouDi serves when its datagram socket /tmp/roudi is bound. A RouDi of another user may keep it
// from us (forbidden): then its clients cannot be ours.
RoudiSocket roudi_socket();
bool roudi_serving();

inline constexpr const char* kRoudiForbidden =
    "a RouDi of another user runs here and /tmp/roudi is not open to this user; iceoryx allows "
    "one RouDi per machine";

// Each mempool's chunks hold the pool's payload capacity and this much more: a chunk's own
// headers and a user header (Cyclone DDS puts a 56-byte one and the CDR header before the data).
inline constexpr std::size_t kRoudiChunkHeadroom = 256;

// What the RouDi of `config` reserves in /dev/shm (its management segment and mempools), in
// bytes: start_roudi refuses to start one that cannot fit, with that reason.
std::size_t roudi_shared_memory_bytes(const DaemonConfig& config);

Result<std::unique_ptr<Daemon>> start_roudi(const DaemonConfig& config);

}  // namespace ipcbench
