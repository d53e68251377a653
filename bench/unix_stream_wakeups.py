#!/usr/bin/python3
"""Why a blocking Unix stream socket ping-pong sleeps twice a round trip.

The claim (README, transports table, `unix-stream`): a process that waits in a blocking recv()
on an AF_UNIX SOCK_STREAM socket is woken about once more per message than one waiting in
poll(), or on a SOCK_SEQPACKET socket. When the peer reads our last message, freeing it wakes the writers
waiting on our socket (unix_write_space, EPOLLOUT); a reader asleep in recv() on that same wait
queue is woken too, finds nothing, and sleeps again. poll() waits with a key that filters out
EPOLLOUT, and the datagram receive path filters it as well.

Two processes on CPUs 0 and 1 exchange 64-byte messages; each mode prints the voluntary context
switches per round trip of one side (1.00 = one sleep per message received). Needs only the
standard library: /usr/bin/python3 bench/unix_stream_wakeups.py [ROUND_TRIPS]
"""
import os
import resource
import select
import socket
import sys


def voluntary_switches_per_round_trip(kind, use_poll, n):
    a, b = socket.socketpair(socket.AF_UNIX, kind)
    cpus = sorted(os.sched_getaffinity(0))
    pid = os.fork()
    if pid == 0:
        os.sched_setaffinity(0, {cpus[-1]})
        p = select.poll()
        p.register(b, select.POLLIN)
        for _ in range(n):
            if use_poll:
                p.poll()
            b.send(b.recv(64))
        os._exit(0)
    os.sched_setaffinity(0, {cpus[0]})
    p = select.poll()
    p.register(a, select.POLLIN)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_nvcsw
    for _ in range(n):
        a.send(b"x" * 64)
        if use_poll:
            p.poll()
        a.recv(64)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_nvcsw
    os.waitpid(pid, 0)
    a.close()
    b.close()
    return (after - before) / n


def main():
    text = sys.argv[1] if len(sys.argv) > 1 else "20000"
    n = int(text) if text.isdigit() else 0
    if n < 1:
        print(f"unix_stream_wakeups: ROUND_TRIPS '{text}': a whole number from 1", file=sys.stderr)
        sys.exit(2)
    for kind, name in ((socket.SOCK_STREAM, "stream"), (socket.SOCK_SEQPACKET, "seqpacket")):
        for use_poll in (False, True):
            how = "poll() + recv()" if use_poll else "blocking recv()"
            per = voluntary_switches_per_round_trip(kind, use_poll, n)
            print(f"{name:9s} {how:16s} voluntary switches per round trip, one side: {per:.2f}")


if __name__ == "__main__":
    main()
