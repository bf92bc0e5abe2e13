"""Concurrency idioms, each returning what it observed: run natively and inside WASI, then compared.

``python idioms.py`` runs every idiom and prints one JSON object:
``{name: {"result": ..., "seconds": ...}}``. Results are chosen to be the same on
every run of a threaded POSIX Python (no racy orders), so any difference inside
WASI is the cooperative scheduler's. Plain standard library only: this file
runs unchanged in the host interpreter and in the guest.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import json
import queue
import sys
import threading
import time

IDIOMS = {}


def idiom(fn):
    IDIOMS[fn.__name__] = fn
    return fn


def start(target, *args, daemon=None) -> threading.Thread:
    thread = threading.Thread(target=target, args=args, daemon=daemon)
    thread.start()
    return thread


# --- the four examples -------------------------------------------------------------

@idiom
def queue_get_fed_by_a_thread():
    q = queue.Queue()
    start(lambda: [q.put(i) for i in range(3)])
    return [q.get() for _ in range(3)]


@idiom
def queue_polled_with_a_timeout():
    q = queue.Queue()
    start(lambda: [q.put(i) for i in range(3)])
    got, deadline = [], time.monotonic() + 5
    while len(got) < 3 and time.monotonic() < deadline:
        try:
            got.append(q.get(timeout=0.01))
        except queue.Empty:
            pass
    return got


@idiom
def sleep_polling_a_flag():
    flag = []
    start(lambda: (time.sleep(0.03), flag.append(1)))
    polls = 0
    while not flag:
        time.sleep(0.01)
        polls += 1
    return [flag, polls >= 1]


@idiom
def condition_wait_for_a_notify():
    cond, state = threading.Condition(), []

    def worker():
        with cond:
            state.append("ready")
            cond.notify()

    start(worker)
    with cond:
        return [cond.wait_for(lambda: state, timeout=2), state]


# --- producer / consumer ---------------------------------------------------------------------

@idiom
def producer_and_consumer_threads_with_a_sentinel():
    q, total = queue.Queue(), []

    def produce():
        for i in range(100):
            q.put(i)
        q.put(None)

    def consume():
        s = 0
        while (item := q.get()) is not None:
            s += item
        total.append(s)

    threads = [start(consume), start(produce)]
    for t in threads:
        t.join()
    return total


@idiom
def simple_queue_fed_by_a_thread():
    q = queue.SimpleQueue()
    start(lambda: [q.put(c) for c in "abc"])
    got = [q.get(timeout=2) for _ in range(3)]
    try:
        q.get(timeout=0.01)
    except queue.Empty:
        got.append("empty")
    return got


@idiom
def lifo_and_priority_queues():
    lifo, prio = queue.LifoQueue(), queue.PriorityQueue()
    start(lambda: ([lifo.put(i) for i in range(3)], [prio.put((p, p)) for p in (3, 1, 2)])).join()
    return [[lifo.get() for _ in range(3)], [prio.get()[1] for _ in range(3)]]


@idiom
def reader_thread_feeding_lines():
    # A language server's reader thread: lines in, messages out through a queue.
    lines, messages = iter(["a", "b", "", "c"]), queue.Queue()

    def reader():
        for line in lines:
            messages.put(line or None)

    start(reader, daemon=True)
    out = []
    while (message := messages.get(timeout=2)) is not None:
        out.append(message)
    return out


# --- worker pools ----------------------------------------------------------------------------

@idiom
def daemon_workers_and_queue_join():
    # The queue module's documentation example: the workers stay blocked in get() at exit.
    q, done = queue.Queue(), []

    def worker():
        while True:
            item = q.get()
            done.append(item * 2)
            q.task_done()

    for _ in range(3):
        start(worker, daemon=True)
    for item in range(20):
        q.put(item)
    q.join()
    return sorted(done)


@idiom
def workers_stopped_by_sentinels():
    q, done, lock = queue.Queue(), [], threading.Lock()

    def worker():
        while (item := q.get()) is not None:
            with lock:
                done.append(item)

    workers = [start(worker) for _ in range(4)]
    for item in range(40):
        q.put(item)
    for _ in workers:
        q.put(None)
    for w in workers:
        w.join()
    return [sorted(done), [w.is_alive() for w in workers]]


@idiom
def executor_map_with_sleeping_tasks():
    def work(n):
        time.sleep(0.02)
        return n * n

    with cf.ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(work, range(8)))


@idiom
def executor_as_completed():
    def work(n):
        time.sleep(0.01 * n)
        return n

    with cf.ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(work, n) for n in (3, 1, 2)]
        return sorted(f.result() for f in cf.as_completed(futures, timeout=5))


@idiom
def futures_wait_first_completed():
    gate = threading.Event()
    with cf.ThreadPoolExecutor(2) as pool:
        quick = pool.submit(lambda: "quick")
        held = pool.submit(gate.wait, 5)
        done, not_done = cf.wait([quick, held], return_when=cf.FIRST_COMPLETED)
        result = [sorted(f.result() for f in done), len(not_done)]
        gate.set()
    return result + [held.result()]


@idiom
def futures_wait_all_with_an_exception():
    def fail():
        raise ValueError("boom")

    with cf.ThreadPoolExecutor() as pool:
        futures = [pool.submit(fail), pool.submit(sum, [1, 2])]
        done, not_done = cf.wait(futures, timeout=5)
        return [len(done), len(not_done), repr(futures[0].exception()), futures[1].result()]


@idiom
def a_task_that_waits_for_another_task():
    # Nested waits: a worker that itself waits.
    with cf.ThreadPoolExecutor(4) as pool:
        inner = pool.submit(lambda: 21)
        outer = pool.submit(lambda: inner.result() * 2)
        return outer.result(timeout=5)


@idiom
def worker_threads_waiting_on_events_in_a_chain():
    events = [threading.Event() for _ in range(4)]
    order = []

    def link(i):
        events[i].wait()
        order.append(i)
        if i + 1 < len(events):
            events[i + 1].set()

    threads = [start(link, i) for i in reversed(range(4))]
    events[0].set()
    for t in threads:
        t.join()
    return order


# --- timers, debounce, polling ---------------------------------------------------------------

@idiom
def debounce_timer_fires_once_after_a_burst():
    fired, lock = [], threading.Lock()
    timer = None

    def changed(value):
        nonlocal timer
        with lock:
            if timer is not None:
                timer.cancel()
            timer = threading.Timer(0.05, fired.append, args=(value,))
            timer.start()

    for value in range(5):
        changed(value)
        time.sleep(0.01)
    time.sleep(0.2)
    return fired


@idiom
def timer_fires_while_main_sleeps_and_time_advances():
    start_time, fired = time.monotonic(), []
    threading.Timer(0.05, lambda: fired.append(time.monotonic() - start_time)).start()
    time.sleep(0.15)
    elapsed = time.monotonic() - start_time
    return [len(fired), 0.05 <= fired[0] < 0.15, elapsed >= 0.15]


@idiom
def polling_loop_sees_time_advance():
    start_time, polls = time.monotonic(), 0
    while time.monotonic() - start_time < 0.1:
        time.sleep(0.01)
        polls += 1
    return 2 <= polls <= 11


@idiom
def event_wait_with_timeout_times_out():
    event, begin = threading.Event(), time.monotonic()
    result = event.wait(0.05)
    return [result, time.monotonic() - begin >= 0.05]


@idiom
def stop_event_ends_a_periodic_worker():
    stop, ticks = threading.Event(), []

    def periodic():
        while not stop.wait(0.01):
            ticks.append(1)

    worker = start(periodic)
    threading.Timer(0.1, stop.set).start()
    worker.join(timeout=5)
    return [worker.is_alive(), len(ticks) >= 3]


# --- locks, conditions, semaphores, barriers -------------------------------------------------

@idiom
def lock_acquire_with_timeout_waits_for_the_holder():
    lock, held = threading.Lock(), threading.Event()

    def holder():
        with lock:
            held.set()
            time.sleep(0.05)

    start(holder)
    held.wait()
    return lock.acquire(timeout=2)


@idiom
def lock_held_by_a_finished_thread_times_out():
    lock = threading.Lock()
    start(lock.acquire).join()
    return [lock.acquire(timeout=0.05), lock.locked()]


@idiom
def rlock_is_owned_per_thread():
    rlock, seen = threading.RLock(), []
    with rlock:
        with rlock:
            t = start(lambda: seen.append(rlock.acquire(blocking=False)))
            t.join()
    t = start(lambda: seen.append(rlock.acquire(timeout=1)))
    t.join()
    return seen


@idiom
def condition_variable_handshake():
    cond, items, consumed = threading.Condition(), [], []

    def consumer():
        with cond:
            while len(consumed) < 3:
                cond.wait_for(lambda: items, timeout=2)
                consumed.append(items.pop(0))

    t = start(consumer)
    for i in range(3):
        with cond:
            items.append(i)
            cond.notify_all()
    t.join()
    return consumed


@idiom
def semaphore_handed_to_threads_one_at_a_time():
    sem, order = threading.Semaphore(0), []

    def worker(i):
        sem.acquire()
        order.append(i)

    threads = [start(worker, i) for i in range(3)]
    for _ in threads:
        sem.release()
    for t in threads:
        t.join()
    return sorted(order)


@idiom
def bounded_semaphore_rejects_an_extra_release():
    sem = threading.BoundedSemaphore(2)
    with sem:
        t = start(lambda: sem.acquire(timeout=1) and sem.release())
        t.join()
    try:
        sem.release()
    except ValueError as error:
        return str(error)


@idiom
def semaphore_acquire_times_out():
    sem = threading.Semaphore(1)
    sem.acquire()
    begin = time.monotonic()
    return [sem.acquire(timeout=0.05), time.monotonic() - begin >= 0.05]


@idiom
def barrier_lets_all_parties_through_together():
    barrier, log, lock = threading.Barrier(4), [], threading.Lock()

    def party(i):
        with lock:
            log.append("before")
        barrier.wait(timeout=5)
        with lock:
            log.append("after")

    threads = [start(party, i) for i in range(3)]
    party(3)
    for t in threads:
        t.join()
    return log.index("after") >= 4 and log.count("after") == 4


@idiom
def barrier_timeout_breaks_it():
    barrier = threading.Barrier(2)
    try:
        barrier.wait(timeout=0.05)
    except threading.BrokenBarrierError:
        return ["broken", barrier.broken]


# --- thread identity -------------------------------------------------------------------------

@idiom
def current_thread_and_thread_locals():
    local, seen = threading.local(), []
    local.name = "main"

    def worker():
        local.name = threading.current_thread().name
        seen.append([threading.current_thread().name, local.name, threading.get_ident() != main_ident])

    main_ident = threading.get_ident()
    start_thread = threading.Thread(target=worker, name="w1")
    start_thread.start()
    start_thread.join()
    return seen + [local.name, threading.current_thread() is threading.main_thread()]


@idiom
def bare_start_new_thread_signals_through_a_lock():
    import _thread

    done, out = threading.Lock(), []
    done.acquire()
    _thread.start_new_thread(lambda: (out.append(threading.current_thread() is not threading.main_thread()),
                                      done.release()), ())
    return [done.acquire(timeout=2), out]


# --- asyncio bridges -------------------------------------------------------------------------

@idiom
def asyncio_to_thread_and_run_in_executor():
    def blocking(n):
        time.sleep(0.02)
        return n + 1

    async def main():
        loop = asyncio.get_running_loop()
        a = asyncio.to_thread(blocking, 1)
        b = loop.run_in_executor(None, blocking, 2)
        return list(await asyncio.gather(a, b))

    return asyncio.run(main())


@idiom
def asyncio_to_thread_with_a_queue_from_a_thread():
    q = queue.Queue()

    async def main():
        start(lambda: [q.put(i) for i in range(3)])
        return [await asyncio.to_thread(q.get, timeout=2) for _ in range(3)]

    return asyncio.run(main())


# --- two threads that take turns more than once ----------------------------------------------
# Threads as fibers leave the C stack while they wait. The pinned runtime has no fibers: there a
# thread started by a wait runs on top of it, and these end in a clear error (test_concurrency.py).


@idiom
def bounded_queue_filled_faster_than_drained():
    q = queue.Queue(maxsize=2)
    start(lambda: [q.put(i) for i in range(5)], daemon=True)
    return [q.get() for _ in range(5)]


@idiom
def ping_pong_between_two_threads():
    ping, pong = queue.Queue(), queue.Queue()
    start(lambda: [pong.put(ping.get() + 1) for _ in range(3)], daemon=True)
    out, n = [], 0
    for _ in range(3):
        ping.put(n)
        n = pong.get()
        out.append(n)
    return out


@idiom
def barrier_reused_for_two_rounds():
    barrier, log = threading.Barrier(2), []

    def party():
        for round_ in range(2):
            barrier.wait()
            log.append(round_)

    t = start(party, daemon=True)
    party()
    t.join()
    return sorted(log)


@idiom
def join_with_a_timeout_of_a_sleeping_thread():
    t = start(time.sleep, 0.3)
    t.join(timeout=0.05)
    return t.is_alive()  # True; without fibers the join returns when the sleep ends: False



# --- held out: written before the fiber scheduler ran, and never tuned to it -------------------
# Threads that take turns many times, long-lived workers fed in batches, pipelines of bounded
# queues, waits inside waits. The test reports them apart from the corpus above.

HELD_OUT = {}


def held_out(fn):
    HELD_OUT[fn.__name__] = fn
    return fn


@held_out
def ping_pong_through_a_condition_and_a_turn_variable():
    cond, state, log = threading.Condition(), {"turn": "a"}, []

    def player(me, other):
        for i in range(5):
            with cond:
                cond.wait_for(lambda: state["turn"] == me, timeout=5)
                log.append(f"{me}{i}")
                state["turn"] = other
                cond.notify_all()

    t = start(player, "b", "a")
    player("a", "b")
    t.join(5)
    return log


@held_out
def pipeline_of_three_stages_over_bounded_queues():
    first, second = queue.Queue(maxsize=1), queue.Queue(maxsize=1)

    def produce():
        for i in range(8):
            first.put(i)
        first.put(None)

    def transform():
        while (item := first.get()) is not None:
            second.put(item * 10)
        second.put(None)

    start(produce)
    start(transform)
    out = []
    while (item := second.get(timeout=5)) is not None:
        out.append(item)
    return out


@held_out
def long_lived_worker_fed_in_two_batches():
    jobs, done = queue.Queue(), []

    def worker():
        while (job := jobs.get()) is not None:
            done.append(job * job)
            jobs.task_done()
        jobs.task_done()

    t = start(worker)
    for batch in ([1, 2, 3], [4, 5]):
        for job in batch:
            jobs.put(job)
        jobs.join()
        done.append("batch")
    jobs.put(None)
    t.join(5)
    return [done, t.is_alive()]


@held_out
def three_workers_share_a_task_queue_and_a_results_queue():
    tasks, results = queue.Queue(), queue.Queue()

    def worker():
        while (n := tasks.get()) is not None:
            time.sleep(0.001 * (n % 3))
            results.put(n + 100)

    workers = [start(worker) for _ in range(3)]
    for n in range(9):
        tasks.put(n)
    got = sorted(results.get(timeout=5) for _ in range(9))
    for _ in workers:
        tasks.put(None)
    for w in workers:
        w.join(5)
    return [got, [w.is_alive() for w in workers]]


@held_out
def semaphore_admits_two_of_five_at_a_time():
    gate, lock, inside, peak = threading.Semaphore(2), threading.Lock(), [0], [0]

    def visit():
        with gate:
            with lock:
                inside[0] += 1
                peak[0] = max(peak[0], inside[0])
            time.sleep(0.02)
            with lock:
                inside[0] -= 1

    threads = [start(visit) for _ in range(5)]
    for t in threads:
        t.join(5)
    return [peak[0], inside[0]]


@held_out
def barrier_of_three_parties_for_three_rounds():
    barrier, log, lock = threading.Barrier(3), [], threading.Lock()

    def party(name):
        for round_ in range(3):
            barrier.wait(5)
            with lock:
                log.append((round_, name))

    threads = [start(party, n) for n in ("x", "y")]
    party("main")
    for t in threads:
        t.join(5)
    return [sorted(r for r, _ in log), len(log)]


@held_out
def event_relay_repeated_with_clear():
    go, back, log = threading.Event(), threading.Event(), []

    def relay():
        for i in range(4):
            go.wait(5)
            go.clear()
            log.append(f"relay{i}")
            back.set()

    t = start(relay)
    for i in range(4):
        go.set()
        back.wait(5)
        back.clear()
        log.append(f"main{i}")
    t.join(5)
    return log


@held_out
def notify_all_wakes_every_waiter():
    cond, flag, woke = threading.Condition(), [False], []

    def waiter(name):
        with cond:
            if cond.wait_for(lambda: flag[0], timeout=5):
                woke.append(name)

    threads = [start(waiter, n) for n in "abc"]
    time.sleep(0.05)
    with cond:
        flag[0] = True
        cond.notify_all()
    for t in threads:
        t.join(5)
    return sorted(woke)


@held_out
def executor_task_waits_for_a_task_it_submitted():
    with cf.ThreadPoolExecutor(max_workers=2) as pool:
        def outer(n):
            inner = pool.submit(lambda: n * 2)
            return inner.result(timeout=5) + 1

        return [pool.submit(outer, n).result(timeout=5) for n in range(3)]


@held_out
def counter_reaches_five_through_wait_for():
    cond, count = threading.Condition(), [0]

    def bump():
        time.sleep(0.005)
        with cond:
            count[0] += 1
            cond.notify()

    for _ in range(5):
        start(bump)
    with cond:
        reached = cond.wait_for(lambda: count[0] == 5, timeout=5)
    return [reached, count[0]]


@held_out
def worker_waits_on_a_helper_while_main_waits_on_it():
    results = queue.Queue()

    def helper(box):
        time.sleep(0.01)
        box.append("helped")

    def worker():
        box = []
        h = start(helper, box)
        h.join(5)
        results.put(box + ["worker"])

    start(worker)
    return results.get(timeout=5)


@held_out
def as_completed_in_order_of_sleep_lengths():
    def nap(seconds):
        time.sleep(seconds)
        return seconds

    with cf.ThreadPoolExecutor(max_workers=3) as pool:
        futures = [pool.submit(nap, s) for s in (0.15, 0.05, 0.1)]
        return [f.result() for f in cf.as_completed(futures, timeout=5)]


@held_out
def consumer_polls_with_timeouts_while_producer_sleeps():
    q, got = queue.Queue(), []

    def produce():
        for i in range(4):
            time.sleep(0.01)
            q.put(i)

    start(produce)
    deadline = time.monotonic() + 5
    while len(got) < 4 and time.monotonic() < deadline:
        try:
            got.append(q.get(timeout=0.005))
        except queue.Empty:
            pass
    return got


@held_out
def asyncio_loop_in_a_thread_serves_the_main_thread():
    loop = asyncio.new_event_loop()
    t = start(loop.run_forever)

    async def double(n):
        await asyncio.sleep(0.01)
        return n * 2

    out = [asyncio.run_coroutine_threadsafe(double(n), loop).result(timeout=5) for n in range(3)]
    loop.call_soon_threadsafe(loop.stop)
    t.join(5)
    loop.close()
    return [out, t.is_alive()]


@held_out
def rlock_reentered_by_a_thread_while_another_waits_for_it():
    lock, log = threading.RLock(), []

    def holder():
        with lock:
            with lock:
                log.append("holder in")
                time.sleep(0.02)
            log.append("holder half")

    t = start(holder)
    time.sleep(0.005)
    with lock:
        log.append("main in")
    t.join(5)
    return log


def run_all(names=None, idioms=None) -> dict:
    idioms = idioms or IDIOMS
    results = {}
    for name in names or idioms:
        begin = time.monotonic()
        try:
            result = idioms[name]()
        except Exception as error:  # noqa: BLE001 - a difference to report, not to hide
            result = {"error": f"{type(error).__name__}: {error}"}
        results[name] = {"result": result, "seconds": round(time.monotonic() - begin, 4)}
    return results


if __name__ == "__main__":
    if sys.argv[1:2] == ["--held-out"]:
        print(json.dumps(run_all(sys.argv[2:], HELD_OUT)))
    else:
        print(json.dumps(run_all(sys.argv[1:])))
