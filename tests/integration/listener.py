"""listener.py — a listening socket on 127.0.0.1 whose thread accepts connections, for the test
servers that take raw connections (the fault proxy, CONNECT proxies, TLS relays).

    l = Listener(handle, backlog=16)   # handle(conn) runs in a daemon thread per connection
    l.port; l.stop()                   # stop(): nothing listens on l.port any more; idempotent

Why stop() is not just close(): on Linux, closing a socket that another thread is blocked in
accept() on does not wake that thread; the socket goes on listening, with no descriptor, until
that accept() returns. And when the blocked call is restarted (the process is stopped and
continued, frozen, traced), the kernel restarts it with the same descriptor NUMBER, which by then
names another socket of the test process, such as the verifying front: the old thread then takes
one connection meant for the front and answers it as its own server would (a CONNECT proxy's bare
403, a fault proxy's closed connection). stop() shuts the socket down first, which does wake
accept() (EINVAL), waits for the thread to end, and only then closes the descriptor.
"""
import socket
import threading


class Listener:
    def __init__(self, handle, backlog=16):
        self._handle = handle
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(backlog)
        self.port = self.sock.getsockname()[1]
        self._thread = threading.Thread(target=self._accept, name=f"listener-{self.port}", daemon=True)
        self._thread.start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:  # shut down by stop()
                return
            threading.Thread(target=self._handle, args=(c,), daemon=True).start()

    def stop(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:  # already stopped
            pass
        if self._thread is not threading.current_thread():
            self._thread.join(10)
        self.sock.close()
