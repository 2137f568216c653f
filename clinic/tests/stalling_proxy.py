"""A TCP proxy in front of PostgreSQL that can hang like a stalled network: for tests only.

`pause()` keeps accepting connections and reading what clients send (so their kernels see every packet
acknowledged, and no TCP keepalive or retransmission timeout fires), but forwards nothing either way, as a
hung load balancer, NAT or firewall does. `resume()` forwards again; connections that were stalled are
dropped then (their clients gave up on them; a late query must not run after the fact), new ones work.
"""

import contextlib
import socket
import threading


class StallingProxy:
    def __init__(self, target=("127.0.0.1", 5432)):
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self._forwarding = threading.Event()
        self._forwarding.set()
        self._lock = threading.Lock()
        self._pairs = []  # [client, server] socket pairs
        self._stalled = set()  # ids of pairs that held data while paused
        self._closed = False
        threading.Thread(target=self._accept, name="stalling-proxy-accept", daemon=True).start()

    def pause(self):
        self._forwarding.clear()

    def resume(self):
        with self._lock:
            stalled = [pair for pair in self._pairs if id(pair) in self._stalled]
            self._stalled.clear()
        for pair in stalled:
            self._drop(pair)
        self._forwarding.set()

    def close(self):
        self._closed = True
        self.listener.close()
        with self._lock:
            pairs = list(self._pairs)
        for pair in pairs:
            self._drop(pair)
        self._forwarding.set()

    def _accept(self):
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            pair = [client, server]
            with self._lock:
                self._pairs.append(pair)
            threading.Thread(target=self._pump, args=(pair, client, server), daemon=True).start()
            threading.Thread(target=self._pump, args=(pair, server, client), daemon=True).start()

    def _pump(self, pair, source, destination):
        try:
            while data := source.recv(65536):
                if not self._forwarding.is_set():
                    with self._lock:
                        self._stalled.add(id(pair))
                    self._forwarding.wait()
                    if pair[0].fileno() == -1:  # dropped on resume
                        return
                destination.sendall(data)
        except OSError:
            pass
        self._drop(pair)

    def _drop(self, pair):
        with self._lock:
            if pair in self._pairs:
                self._pairs.remove(pair)
        for sock in pair:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
