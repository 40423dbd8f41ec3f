#!/usr/bin/env python3
"""Where one echoed key's time goes, process by process (BENCHMARKS.md, "The sixth
2026-12-07 session: one key's path, hop by hop").

Two commands, both for a person's pace (keys 20-50 ms apart, so every process on the path has gone
to sleep, and on this VM its vCPU has usually halted, before the next key):

  keypath.py type FRONT_END TARGET N MARKS.json
      Runs FRONT_END in a 120x40 PTY (`controlroom attach TARGET` with the environment's
      CONTROLROOM_DATA_DIR / CONTROLROOM_CONFIG_DIR, or `tmux -L SOCKET attach -t SESSION` when
      FRONT_END is `tmux:SOCKET`), types N keys into a `stty raw -echo; cat` worker, each a
      different letter from the cell it overwrites, and times each until its chunk is read back.
      Prints p50/p90/p99 and writes each key's (sent, shown) CLOCK_MONOTONIC ns to MARKS.json.

  keypath.py chain SCRIPT.txt (MARKS.json | --client COMM)
      Reads `perf script -F comm,tid,cpu,time,event,trace` of
      `perf record -k CLOCK_MONOTONIC -e sched:sched_switch -e sched:sched_waking -a`, and for each
      key walks the chain of wake-ups back from the one that woke the typist (MARKS.json's keys,
      or every wake-up of the thread named COMM, e.g. the echo bench's `echo-client`). Prints, per
      chain shape, the median time each process waited from its wake-up to running
      (`wait`) and ran until it woke the next one (`run`).

Nothing here is used by the build, the tests or CI; it needs perf and root (or
perf_event_paranoid <= 1) only for the recording, which the caller does.
"""

import bisect
import fcntl
import json
import os
import pty
import random
import re
import select
import statistics
import struct
import sys
import termios
import time

KEYS = b"abcdefghijklmnopqrstuvwxyz"


def type_keys(front_end, target, n, marks_path):
    pid, fd = pty.fork()
    if pid == 0:
        if front_end.startswith("tmux:"):
            os.execvp("tmux", ["tmux", "-L", front_end[5:], "attach", "-t", target])
        os.execv(front_end, [front_end, "attach", target])
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    seen = b""

    def read_until(pred, within=10.0):
        nonlocal seen
        end = time.monotonic() + within
        while True:
            ready, _, _ = select.select([fd], [], [], max(0.0, end - time.monotonic()))
            if not ready:
                raise SystemExit("nothing on screen in time; last bytes: %r" % seen[-300:])
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: the front end exited
                raise SystemExit("the front end exited; it printed: %r" % seen[-600:])
            at = time.monotonic_ns()
            seen += chunk
            if pred(chunk):
                return at

    read_until(lambda _c: b"ready" in seen, 30)
    time.sleep(0.5)
    os.write(fd, b"\r\n")  # a fresh line: no cell left over from an earlier run
    time.sleep(0.3)
    offset = random.randrange(len(KEYS))
    marks, took = [], []
    for i in range(n):
        time.sleep(0.02 + random.random() * 0.03)
        col, line = i % len(KEYS), i // len(KEYS) + offset
        key = KEYS[(col + line + 1) % len(KEYS):][:1]
        seen = b""
        sent = time.monotonic_ns()
        os.write(fd, key)
        shown = read_until(lambda c, k=key: k in c)
        marks.append((sent, shown))
        took.append((shown - sent) / 1e6)
        if col == len(KEYS) - 1:
            os.write(fd, b"\r")
            time.sleep(0.02)
            if select.select([fd], [], [], 0.1)[0]:
                os.read(fd, 65536)
    os.write(fd, b"\x02d" if front_end.startswith("tmux:") else b"\x1c")  # detach
    took.sort()
    print("n=%d p50=%.3f p90=%.3f p99=%.3f ms" % (n, took[n // 2], took[int(n * 0.9)], took[int(n * 0.99)]))
    with open(marks_path, "w") as f:
        json.dump(marks, f)


SHORT = [("kworker", "kworker"), ("tokio-rt-worker", "gateway"), ("controlroom", "front end"),
         ("python3", "typist"), ("tmux: server", "tmux server"), ("cr-holder", "holder"),
         ("echo-client", "typist")]


def chain(script_path, marks_path=None, client=None):
    events, names = [], {}
    line_re = re.compile(r"\s*(.+?)\s+(\d+)\s+\[(\d+)\]\s+([\d.]+):\s+(\S+):\s+(.*)")
    for line in open(script_path):
        m = line_re.match(line)
        if not m:
            continue
        _comm, tid, _cpu, t, event, trace = m.groups()
        t = float(t) * 1e9
        if "sched_waking" in event:
            w = re.search(r"comm=(.*?) pid=(\d+)", trace)
            events.append((t, "wake", tid, w.group(2)))
            names[w.group(2)] = w.group(1)
        elif "sched_switch" in event:
            s = re.search(r"next_comm=(.*?) next_pid=(\d+)", trace)
            events.append((t, "run", tid, s.group(2)))
            names[s.group(2)] = s.group(1)

    def role(tid):
        name = names.get(tid, tid)
        return next((r for p, r in SHORT if name.startswith(p)), name)

    ends = []  # (index of the typist's wake-up, start of the key or None)
    if marks_path:
        times = [e[0] for e in events]
        for sent, shown in json.load(open(marks_path)):
            hi = bisect.bisect_right(times, shown)
            for i in range(hi - 1, -1, -1):
                if events[i][0] < sent:
                    break
                if events[i][1] == "wake" and role(events[i][3]) == "typist":
                    ends.append((i, sent))
                    break
    else:
        ends = [(i, None) for i, e in enumerate(events)
                if e[1] == "wake" and names.get(e[3], "").startswith(client)]

    shapes = {}
    for end, sent in ends:
        window = events[max(0, end - 600):end + 1]
        cur, hops = events[end], []
        while len(hops) < 16:
            waker = cur[2]
            runs = [e for e in window if e[1] == "run" and e[3] == waker and e[0] <= cur[0]]
            wakes = [e for e in window if e[1] == "wake" and e[3] == waker and e[0] <= cur[0]]
            if not runs or not wakes:
                break
            ran, woken = runs[-1][0], wakes[-1]
            ran = max(ran, woken[0])  # woken while still on a CPU: no wait
            hops.append((role(waker), ran - woken[0], cur[0] - ran))
            if role(woken[2]) == "typist" or (sent is not None and woken[0] < sent):
                break
            cur = woken
        if hops:
            hops.reverse()
            shapes.setdefault(" > ".join(h[0] for h in hops), []).append(hops)

    if not shapes:
        sys.exit("no key's chain found: is the recording of the same run, with sched_switch and sched_waking?")
    for shape, keys in sorted(shapes.items(), key=lambda kv: -len(kv[1]))[:3]:
        print("%d keys: %s" % (len(keys), shape))
        for i, (who, _, _) in enumerate(keys[0]):
            wait = statistics.median(k[i][1] for k in keys) / 1e3
            run = statistics.median(k[i][2] for k in keys) / 1e3
            print("  %-12s wait p50 %6.1f us   run p50 %6.1f us" % (who, wait, run))
        total = statistics.median(sum(h[1] + h[2] for h in k) for k in keys) / 1e3
        print("  the chain, p50 of each key's sum: %.1f us" % total)


def main(argv):
    if len(argv) == 6 and argv[1] == "type":
        type_keys(argv[2], argv[3], int(argv[4]), argv[5])
    elif len(argv) == 4 and argv[1] == "chain" and argv[3] != "--client":
        chain(argv[2], marks_path=argv[3])
    elif len(argv) == 5 and argv[1] == "chain" and argv[3] == "--client":
        chain(argv[2], client=argv[4])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    try:
        main(sys.argv)
    except OSError as e:
        sys.exit("keypath.py: %s" % e)
