import queue
import threading


def test_worker_blocks_until_the_main_thread_goes_on():
    # The worker must stay blocked on the gate while the main thread goes on and opens it.
    gate, q = threading.Event(), queue.Queue()

    def worker():
        q.put(1)
        gate.wait()

    t = threading.Thread(target=worker, daemon=True)
    t.start()
    assert q.get(timeout=1) == 1
    gate.set()
    t.join(timeout=1)
    assert not t.is_alive()


def test_queue_fed_by_a_thread():
    q = queue.Queue()
    threading.Thread(target=lambda: q.put(2)).start()
    assert q.get() == 2


def test_a_real_failure_with_threads():
    q = queue.Queue()
    threading.Thread(target=lambda: q.put(2)).start()
    assert q.get() == 3
